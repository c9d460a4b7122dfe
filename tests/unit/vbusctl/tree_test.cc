// SPDX-License-Identifier: GPL-2.0
// vbusctl: the configfs tree model on a fake tree.

#include <gtest/gtest.h>

#include "fake_kernel.hh"

#include <config.hh>
#include <error.hh>

#include <filesystem>

namespace fs = std::filesystem;

namespace vbusctl
{
namespace
{

class TreeTest : public ::testing::Test
{
protected:
	test::TempDir dir;
	test::FakeKernel tree{dir.path()};
};

TEST_F(TreeTest, ListsClassesContainersAndDevicesSorted)
{
	tree.make_container("b");
	tree.make_container("a");
	tree.make_device("venet", "v0");
	tree.make_device("echo", "e1");
	tree.make_device("echo", "e0");
	EXPECT_EQ(tree.classes(), (std::vector<std::string>{"echo", "venet"}));
	EXPECT_EQ(tree.container_names(), (std::vector<std::string>{"a", "b"}));
	EXPECT_EQ(tree.device_names(), (std::vector<std::string>{"e0", "e1", "v0"}));
	EXPECT_EQ(tree.device_class("v0"), "venet");
	EXPECT_EQ(tree.device_class("nosuch"), std::nullopt);
}

TEST_F(TreeTest, AttributesAreTheFilesWithTheirWritePermission)
{
	tree.make_device("echo", "e0");
	const DeviceState d = tree.device("e0");
	EXPECT_EQ(d.cls, "echo");
	ASSERT_NE(d.find("max_len"), nullptr);
	EXPECT_EQ(d.find("max_len")->value, "4096");
	EXPECT_TRUE(d.find("max_len")->writable);
	EXPECT_TRUE(d.find("enabled")->writable);
	EXPECT_FALSE(d.find("type")->writable);
	EXPECT_FALSE(d.find("id")->writable);
	EXPECT_EQ(d.value("type"), "echo");
	EXPECT_FALSE(d.enabled());
}

TEST_F(TreeTest, WritesTheValueAsOneLine)
{
	tree.make_device("echo", "e0");
	tree.set_device_attribute("e0", "max_len", "8192");
	EXPECT_EQ(test::read_raw(dir.path() / "devices/echo/e0/max_len"), "8192\n");
	tree.make_container("c");
	tree.set_container_attribute("c", "owner_uid", "1000");
	EXPECT_EQ(test::read_raw(dir.path() / "containers/c/owner_uid"), "1000\n");
	EXPECT_EQ(tree.container("c").owner_uid, 1000U);
	EXPECT_EQ(tree.container("c").owner_gid, std::nullopt);
}

TEST_F(TreeTest, PlacementsAreLinksInTheContainer)
{
	tree.make_container("c");
	tree.make_device("echo", "e0");
	tree.attach("e0", "c");
	const fs::path link = dir.path() / "containers/c/devices/e0";
	ASSERT_TRUE(fs::is_symlink(link));
	EXPECT_EQ(fs::read_symlink(link), dir.path() / "devices/echo/e0");
	EXPECT_EQ(tree.device("e0").container, "c");
	EXPECT_EQ(tree.container("c").devices, (std::vector<std::string>{"e0"}));
	tree.detach("e0");
	EXPECT_FALSE(fs::exists(link));
	EXPECT_EQ(tree.device("e0").container, "");
	EXPECT_THROW(tree.detach("e0"), Error);
}

TEST_F(TreeTest, LinksMadeByHandAreFoundByTheirTarget)
{
	tree.make_container("c");
	tree.make_device("echo", "e0");
	// ln -s with a link name of the administrator's choosing.
	fs::create_symlink(dir.path() / "devices/echo/e0", dir.path() / "containers/c/devices/x");
	EXPECT_EQ(tree.device("e0").container, "c");
	tree.detach("e0");
	EXPECT_FALSE(fs::exists(dir.path() / "containers/c/devices/x"));
}

TEST_F(TreeTest, ErrorsNameObjectOperationAndReason)
{
	try {
		tree.make_device("nosuchclass", "d");
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.object(), "device 'd'");
		EXPECT_EQ(e.operation(), "create in class 'nosuchclass'");
		EXPECT_EQ(e.err(), ENOENT);
		EXPECT_NE(e.reason().find("no such device class"), std::string::npos);
	}
	try {
		tree.attach("nosuch", "c");
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.object(), "device 'nosuch'");
		EXPECT_EQ(e.reason(), "no such device");
	}
	tree.make_container("c");
	EXPECT_THROW(tree.make_container("c"), Error);
	try {
		tree.make_container("c");
	} catch (const Error &e) {
		EXPECT_EQ(e.err(), EEXIST);
		EXPECT_EQ(e.operation(), "create");
	}
}

TEST_F(TreeTest, RefusesNamesThatAreNotNames)
{
	EXPECT_THROW(tree.make_container("../escape"), Error);
	tree.make_device("echo", "e0");
	// The tree's own check, not the fake kernel's.
	EXPECT_THROW(tree.Tree::set_device_attribute("e0", "../../x", "1"), Error);
	EXPECT_FALSE(fs::exists(dir.path() / "devices/x"));
	EXPECT_FALSE(fs::exists(dir.path().parent_path() / "escape"));
}

TEST_F(TreeTest, SnapshotKeepsConfigurationNotState)
{
	tree.make_container("c");
	tree.set_container_attribute("c", "owner_gid", "5");
	tree.make_device("echo", "e0");
	tree.set_device_attribute("e0", "max_len", "100");
	tree.set_device_attribute("e0", "enabled", "1");
	tree.attach("e0", "c");
	tree.make_device("venet", "v0");
	const Config config = snapshot(tree);
	ASSERT_EQ(config.containers.size(), 1U);
	EXPECT_EQ(config.containers[0], (ContainerConfig{"c", std::nullopt, 5U}));
	ASSERT_EQ(config.devices.size(), 2U);
	EXPECT_EQ(config.devices[0], (DeviceConfig{"e0", "echo", {{"max_len", "100"}}, true}));
	EXPECT_EQ(config.devices[1],
	          (DeviceConfig{"v0", "venet", {{"ifname", "vbus-vn%d"}, {"mtu", "1500"}}, false}));
	EXPECT_EQ(config.placements, (std::vector<Placement>{{"e0", "c"}}));
}

} // namespace
} // namespace vbusctl
