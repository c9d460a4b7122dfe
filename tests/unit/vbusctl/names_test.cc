// SPDX-License-Identifier: GPL-2.0
// vbusctl: parsing of names, assignments, owner ids and enabled values.

#include <gtest/gtest.h>

#include <error.hh>
#include <names.hh>

#include <string>

namespace vbusctl
{
namespace
{

TEST(Names, FollowTheKernelRule)
{
	EXPECT_TRUE(valid_name("guest1"));
	EXPECT_TRUE(valid_name("a.b-c_D9"));
	EXPECT_TRUE(valid_name(std::string(64, 'x')));
	EXPECT_FALSE(valid_name(std::string(65, 'x')));
	EXPECT_FALSE(valid_name(""));
	EXPECT_FALSE(valid_name("bad*name"));
	EXPECT_FALSE(valid_name("a/b"));
	EXPECT_FALSE(valid_name(".."));
	EXPECT_FALSE(valid_name("."));
	EXPECT_FALSE(valid_name("sp ace"));
}

TEST(Names, CheckNameIsAUsageErrorNamingTheObject)
{
	try {
		check_name("device", "x/../y");
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), Error::Kind::usage);
		EXPECT_EQ(e.exit_code(), kExitUsage);
		EXPECT_EQ(e.object(), "device 'x/../y'");
	}
}

TEST(Assignments, SplitAtTheFirstEquals)
{
	const Assignment a = parse_assignment("ifname=a=b");
	EXPECT_EQ(a.attribute, "ifname");
	EXPECT_EQ(a.value, "a=b");
	const Assignment empty = parse_assignment("owner_uid=");
	EXPECT_EQ(empty.attribute, "owner_uid");
	EXPECT_EQ(empty.value, "");
	EXPECT_EQ(parse_assignment("mtu=9000").value, "9000");
}

TEST(Assignments, RejectWhatIsNotAnAttribute)
{
	EXPECT_THROW(parse_assignment("mtu"), Error);
	EXPECT_THROW(parse_assignment("=1"), Error);
	EXPECT_THROW(parse_assignment("../../x=1"), Error);
	EXPECT_THROW(parse_assignment("a/b=1"), Error);
	EXPECT_THROW(parse_assignment("mtu=1\n2"), Error);
}

TEST(Owners, DecimalIdsOrNothing)
{
	EXPECT_EQ(parse_owner("owner_uid", ""), std::nullopt);
	EXPECT_EQ(parse_owner("owner_uid", "0"), 0U);
	EXPECT_EQ(parse_owner("owner_uid", "1000"), 1000U);
	EXPECT_EQ(parse_owner("owner_uid", "4294967294"), 4294967294U);
	// (u32)-1 is the kernel's "no id" and refused like it.
	EXPECT_THROW(parse_owner("owner_uid", "4294967295"), Error);
	EXPECT_THROW(parse_owner("owner_uid", "4294967296"), Error);
	EXPECT_THROW(parse_owner("owner_uid", "nobody"), Error);
	EXPECT_THROW(parse_owner("owner_uid", "-1"), Error);
	EXPECT_THROW(parse_owner("owner_uid", "12a"), Error);
	EXPECT_EQ(format_owner(std::nullopt), "");
	EXPECT_EQ(format_owner(7U), "7");
}

TEST(Enabled, ZeroOrOne)
{
	EXPECT_FALSE(parse_enabled("0"));
	EXPECT_TRUE(parse_enabled("1"));
	EXPECT_THROW(parse_enabled("maybe"), Error);
	EXPECT_THROW(parse_enabled("yes"), Error);
	EXPECT_THROW(parse_enabled(""), Error);
}

} // namespace
} // namespace vbusctl
