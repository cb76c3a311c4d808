/* tmptree.h - writable temporary trees for the unit tests.
 *
 * The fixture trees under FIXTURES may be read-only (make distcheck), so a
 * test that changes files works on a copy.  Every function reports a failure
 * with cmocka's fail_msg(): call them from a test, setup or teardown.
 */
#ifndef KN_TMPTREE_H
#define KN_TMPTREE_H

/* Copies FIXTURES/NAME (empty tree for NULL) to a new temp dir; returns its malloc'd path. */
char *tt_copy(const char *name);

/* Replaces DIR/REL (if any) by a fresh copy of FIXTURES/NAME/REL, creating parents. */
void tt_graft(const char *dir, const char *name, const char *rel);

/* Writes TEXT to DIR/REL, replacing the file and creating parent directories. */
void tt_put(const char *dir, const char *rel, const char *text);

/* Creates the directory DIR/REL and its parents; fails if it exists already. */
void tt_mkdir(const char *dir, const char *rel);

/* Removes DIR/REL (file or whole directory); fails if it does not exist. */
void tt_drop(const char *dir, const char *rel);

/* Removes the whole temp tree DIR and frees DIR; NULL is fine. */
void tt_remove(char *dir);

#endif
