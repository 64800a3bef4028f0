/* SPDX-License-Identifier: MIT */
/*
 * fs: small filesystem helpers the agent needs for its state and socket
 * directories.
 */
#ifndef VXMESH_FS_H
#define VXMESH_FS_H

#include <sys/types.h>

/*
 * Create the missing components of dir, like `mkdir -p`.  Components it
 * creates get mode (less the umask, as with mkdir(2)), so mode should let the
 * owner search them; existing ones are left alone, not chmod()ed.  Repeated
 * and trailing slashes are fine.  0, -EINVAL for "", -ENOTDIR when a
 * component exists and is not a directory, or another -errno of mkdir(2).
 */
int fs_mkdir_p(const char *dir, mode_t mode) __attribute__((warn_unused_result));
/* fs_mkdir_p() of the directory holding path ("a/b/c" -> "a/b"); 0 when that
 * is "/" or the current directory ("c"), -EINVAL for "". */
int fs_mkdir_parent(const char *path, mode_t mode) __attribute__((warn_unused_result));

#endif
