// SPDX-License-Identifier: GPL-2.0
// vbusctl: executing restore plans and clearing, on a fake tree.

#include <gtest/gtest.h>

#include "fake_kernel.hh"

#include <plan.hh>
#include <restore.hh>

#include <cerrno>
#include <filesystem>

namespace fs = std::filesystem;

namespace vbusctl
{
namespace
{

Config sample()
{
	Config c;
	c.containers = {{"c1", 1000U, std::nullopt}, {"c2", std::nullopt, 7U}};
	c.devices = {{"e0", "echo", {{"max_len", "8192"}}, true},
	             {"e1", "echo", {{"max_len", "100"}}, false},
	             {"v0", "venet", {{"ifname", "vn0"}, {"mtu", "9000"}}, true}};
	c.placements = {{"e0", "c1"}, {"e1", "c1"}, {"v0", "c2"}};
	return c;
}

class RestoreTest : public ::testing::Test
{
protected:
	Report restore(const Config &want)
	{
		return execute(tree, plan_restore(want, snapshot(tree)));
	}

	test::TempDir dir;
	test::FakeKernel tree{dir.path()};
};

TEST_F(RestoreTest, GivesBackTheConfiguration)
{
	const Report report = restore(sample());
	EXPECT_TRUE(report.failures.empty());
	EXPECT_EQ(report.created, sample().objects());
	EXPECT_EQ(snapshot(tree), sample());
}

TEST_F(RestoreTest, SecondRestoreChangesNothing)
{
	restore(sample());
	const unsigned before = tree.changes();
	const Report report = restore(sample());
	EXPECT_EQ(report.steps, 0U);
	EXPECT_EQ(tree.changes(), before);
	EXPECT_EQ(snapshot(tree), sample());
}

TEST_F(RestoreTest, RefusedAttributeRemovesTheDeviceAndTheRestGoesOn)
{
	Config want = sample();
	want.devices[1].attributes["max_len"] = "0"; // the fake kernel says EINVAL
	const Report report = restore(want);
	ASSERT_EQ(report.failures.size(), 2U);
	EXPECT_EQ(report.failures[0].object, "device 'e1'");
	EXPECT_EQ(report.failures[0].operation, "set max_len=0");
	EXPECT_EQ(report.failures[0].reason,
	          "Invalid argument (the value is malformed or out of range); "
	          "the device was removed again");
	EXPECT_EQ(report.failures[1].message(),
	          "device 'e1': attach to container 'c1': skipped: the device was not restored");
	EXPECT_FALSE(fs::exists(dir.path() / "devices/echo/e1"));
	// Everything else is there.
	Config expected = sample();
	expected.devices.erase(expected.devices.begin() + 1);
	expected.placements.erase(expected.placements.begin() + 1);
	EXPECT_EQ(snapshot(tree), expected);
	EXPECT_EQ(report.created, expected.objects());
}

TEST_F(RestoreTest, RefusedEnableRemovesTheDevice)
{
	tree.refuse("enabled", EBUSY);
	const Report report = restore(sample());
	// e0 and v0 fail to enable; e1 stays disabled and is restored.
	ASSERT_EQ(report.failures.size(), 4U);
	EXPECT_EQ(report.failures[0].message(),
	          "device 'e0': enable: Device or resource busy; the device was removed again");
	EXPECT_EQ(tree.device_names(), (std::vector<std::string>{"e1"}));
	EXPECT_EQ(tree.device("e1").container, "c1");
}

TEST_F(RestoreTest, RefusedContainerAttributeRemovesTheContainer)
{
	tree.refuse("owner_gid", EINVAL);
	const Report report = restore(sample());
	ASSERT_EQ(report.failures.size(), 2U);
	EXPECT_EQ(report.failures[0].object, "container 'c2'");
	EXPECT_EQ(report.failures[0].operation, "set owner_gid=7");
	EXPECT_EQ(report.failures[1].message(),
	          "device 'v0': attach to container 'c2': skipped: the container was not restored");
	EXPECT_EQ(tree.container_names(), (std::vector<std::string>{"c1"}));
	// The device itself is restored, only its placement is missing.
	EXPECT_TRUE(tree.device("v0").enabled());
}

TEST_F(RestoreTest, ClassThatIsNotLoadedIsReported)
{
	Config want = sample();
	want.devices[2].cls = "nosuch";
	const Report report = restore(want);
	ASSERT_EQ(report.failures.size(), 2U);
	EXPECT_EQ(report.failures[0].object, "device 'v0'");
	EXPECT_EQ(report.failures[0].operation, "create in class 'nosuch'");
	EXPECT_NE(report.failures[0].reason.find("no such device class"), std::string::npos);
}

TEST_F(RestoreTest, ClearRemovesEverythingInOrder)
{
	restore(sample());
	const Report report = clear(tree);
	EXPECT_TRUE(report.failures.empty());
	EXPECT_TRUE(snapshot(tree).empty());
	// placements, disables of the two enabled devices, devices, containers
	EXPECT_EQ(report.steps, 3U + 2U + 3U + 2U);
}

TEST_F(RestoreTest, ClearReportsWhatItCannotRemove)
{
	restore(sample());
	tree.refuse("enabled", EBUSY); // as if a client held e0 and v0 open
	const Report report = clear(tree);
	ASSERT_EQ(report.failures.size(), 2U);
	EXPECT_EQ(report.failures[0].message(),
	          "device 'e0': disable: Device or resource busy (a client has the device open)");
	EXPECT_EQ(tree.device_names(), (std::vector<std::string>{"e0", "v0"}));
	EXPECT_TRUE(tree.container_names().empty());
}

} // namespace
} // namespace vbusctl
