// SPDX-License-Identifier: GPL-2.0
// vbus-vm: error messages and the hints for /dev/vbus-kvm.

#include <gtest/gtest.h>

#include <error.hh>
#include <vbus_connector.hh>

#include <cerrno>

namespace vbusvm
{
namespace
{

TEST(Error, NamesObjectOperationAndReason)
{
	const Error e =
	    Error::from_errno("/dev/kvm", "open", ENOENT, "is kvm_intel or kvm_amd loaded?");
	EXPECT_STREQ(e.what(),
	             "/dev/kvm: open: No such file or directory (is kvm_intel or kvm_amd loaded?)");
	EXPECT_EQ(e.err(), ENOENT);
	EXPECT_EQ(e.kind(), Error::Kind::failed);
	EXPECT_EQ(e.exit_code(), kExitFailed);

	EXPECT_STREQ(Error::from_errno("VM", "KVM_IRQFD", EINVAL).what(),
	             "VM: KVM_IRQFD: Invalid argument");
	const Error u = Error::usage("--mem", "'x' is not a size");
	EXPECT_STREQ(u.what(), "--mem: 'x' is not a size");
	EXPECT_EQ(u.exit_code(), kExitUsage);
}

TEST(Error, Hex)
{
	EXPECT_EQ(hex(0), "0x0");
	EXPECT_EQ(hex(0xc400), "0xc400");
	EXPECT_EQ(hex(0xfffffffffffffffULL), "0xfffffffffffffff");
}

TEST(Error, BindHints)
{
	EXPECT_EQ(bind_hint(ENOENT, "c0"), "no container c0");
	EXPECT_EQ(bind_hint(EPERM, "c0"),
	          "not allowed to attach to container c0: needs CAP_NET_ADMIN or the container's "
	          "owner");
	EXPECT_EQ(bind_hint(EACCES, "web"), bind_hint(EPERM, "web"));
	EXPECT_EQ(bind_hint(EBUSY, "c0"), "this VM is attached already");
	EXPECT_EQ(bind_hint(EIO, "c0"), "");
}

} // namespace
} // namespace vbusvm
