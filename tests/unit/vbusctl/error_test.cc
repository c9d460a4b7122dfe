// SPDX-License-Identifier: GPL-2.0
// vbusctl: errno to message, after the error table of admin.rst.

#include <gtest/gtest.h>

#include <error.hh>

#include <cerrno>
#include <string>

namespace vbusctl
{
namespace
{

TEST(ErrorMapping, FollowsTheAdminGuide)
{
	EXPECT_EQ(explain(Op::set_attribute, EBUSY),
	          "class attributes change only while the device is disabled");
	EXPECT_EQ(explain(Op::disable, EBUSY), "a client has the device open");
	EXPECT_EQ(explain(Op::attach, EBUSY), "the device is already placed in a container");
	EXPECT_EQ(explain(Op::remove_device, EBUSY),
	          "the device is placed in a container; detach it first");
	EXPECT_EQ(explain(Op::remove_container, ENOTEMPTY),
	          "devices are placed in it; detach them first");
	EXPECT_EQ(explain(Op::remove_container, EBUSY), "clients are attached to the container");
	EXPECT_EQ(explain(Op::attach, EINVAL), "only devices can be placed in a container");
	EXPECT_EQ(explain(Op::make_device, EEXIST), "device names are unique across all classes");
	EXPECT_EQ(explain(Op::make_container, EEXIST), "the name is taken");
	EXPECT_EQ(explain(Op::make_device, ENOENT), "no such device class; is its module loaded?");
	EXPECT_EQ(explain(Op::set_attribute, ENOENT), "no such attribute");
	EXPECT_EQ(explain(Op::attach, ENOENT), "no such container");
	EXPECT_EQ(explain(Op::set_attribute, EINVAL), "the value is malformed or out of range");
	EXPECT_EQ(explain(Op::enable, EINVAL), "enabled takes 0 or 1");
	EXPECT_EQ(explain(Op::make_container, EPERM), "administration needs root");
}

TEST(ErrorMapping, NothingToAddForOtherErrors)
{
	EXPECT_EQ(explain(Op::set_attribute, ENOMEM), "");
	EXPECT_EQ(explain(Op::file, EACCES), "");
	EXPECT_EQ(errno_reason(Op::file, ENOSPC), "No space left on device");
}

TEST(ErrorMessage, NamesObjectOperationAndKernelReason)
{
	const Error e =
	    Error::from_errno("device 'echo0'", Op::set_attribute, "set max_len=0", EINVAL);
	EXPECT_STREQ(e.what(), "device 'echo0': set max_len=0: Invalid argument "
	                       "(the value is malformed or out of range)");
	EXPECT_EQ(e.err(), EINVAL);
	EXPECT_EQ(e.kind(), Error::Kind::failed);
	EXPECT_EQ(e.exit_code(), kExitFailed);
}

} // namespace
} // namespace vbusctl
