/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vbus: the last put of a configfs item removed by rmdir.
 *
 * configfs drops a removed item's last reference inside ->rmdir(), but
 * the directory's dentry stays hashed until vfs_rmdir() returns.  A
 * symlink(2) that resolves its target in that window (configfs'
 * get_target()) takes a reference from zero: a refcount WARN and a
 * use-after-free.  So the drop_item() of every vbus group hands the
 * item's first reference to vbus_configfs_put_after_rmdir(), which puts
 * it from a work item once the rmdir is over: do_rmdir() holds the
 * parent directory's inode lock until the dentry is gone, so the work
 * takes that lock once before it puts.
 */
#ifndef _VBUS_CONFIGFS_H
#define _VBUS_CONFIGFS_H

#include <linux/configfs.h>
#include <linux/workqueue.h>

struct dentry;

/**
 * struct vbus_cfs_put - a removed item's first reference, put later
 * @work:	puts it
 * @item:	the item
 * @parent:	the directory it was removed from (a dentry reference)
 *
 * Embedded in the object that embeds @item; its memory may be freed by
 * the put.
 */
struct vbus_cfs_put {
	struct work_struct work;
	struct config_item *item;
	struct dentry *parent;
};

void vbus_configfs_put_after_rmdir(struct vbus_cfs_put *put,
				   struct config_group *parent,
				   struct config_item *item);
void vbus_configfs_flush_puts(void);

#endif /* _VBUS_CONFIGFS_H */
