// SPDX-License-Identifier: GPL-2.0
// vbusctl: the command line end to end on a fake tree: parsing, exit
// codes, messages, save and restore.

#include <gtest/gtest.h>

#include "fake_kernel.hh"

#include <cli/context.hh>
#include <config.hh>
#include <error.hh>

#include <cerrno>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace vbusctl
{
namespace
{

struct Result {
	int status;
	std::string out;
	std::string err;
};

class CliTest : public ::testing::Test
{
protected:
	Result vbusctl(std::vector<std::string> args)
	{
		args.insert(args.begin(), {"--root", dir.path().string()});
		std::ostringstream out;
		std::ostringstream err;
		const int status = run(args, out, err, [this](const fs::path &root) {
			auto tree = std::make_unique<test::FakeKernel>(root, &changes);
			for (const auto &[attr, err] : refused) {
				tree->refuse(attr, err);
			}
			return tree;
		});
		return {status, out.str(), err.str()};
	}

	// Runs and requires success.
	std::string ok(const std::vector<std::string> &args)
	{
		const Result r = vbusctl(args);
		EXPECT_EQ(r.status, 0) << r.err;
		return r.out;
	}

	test::TempDir dir;
	unsigned changes = 0;
	test::FakeKernel tree{dir.path(), &changes};
	std::map<std::string, int> refused;
};

TEST_F(CliTest, UsageErrorsExitWith2)
{
	EXPECT_EQ(vbusctl({}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"frobnicate"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"container"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"container", "add"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"device", "add", "echo"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"device", "set", "e0", "novalue"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"device", "set", "e0", "enabled=maybe"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"container", "add", "c", "--owner-uid", "nobody"}).status, kExitUsage);
	EXPECT_EQ(vbusctl({"monitor", "--timeout", "-1"}).status, kExitUsage);
	const Result bad = vbusctl({"container", "add", "bad*name"});
	EXPECT_EQ(bad.status, kExitUsage);
	EXPECT_EQ(bad.err, "vbusctl: container 'bad*name': check name: names are 1 to 64 "
	                   "characters from A-Z a-z 0-9 _ . -\n");
	// Nothing was created by any of them.
	EXPECT_TRUE(tree.container_names().empty());
	EXPECT_EQ(vbusctl({"--help"}).status, kExitOk);
}

TEST_F(CliTest, ContainersAddListShowDel)
{
	ok({"container", "add", "c1", "--owner-uid", "1000"});
	ok({"containers", "add", "c2"});
	EXPECT_EQ(ok({"container", "list"}), "NAME  DEVICES  CLIENTS  OWNER_UID  OWNER_GID\n"
	                                     "c1    0        0        1000       -\n"
	                                     "c2    0        0        -          -\n");
	const auto list = nlohmann::json::parse(ok({"--json", "container", "list"}));
	ASSERT_EQ(list.size(), 2U);
	EXPECT_EQ(list[0]["owner_uid"], 1000);
	const auto show = nlohmann::json::parse(ok({"container", "show", "c2", "--json"}));
	EXPECT_EQ(show["name"], "c2");
	EXPECT_TRUE(show["owner_uid"].is_null());
	ok({"container", "set", "c2", "owner_gid=5"});
	EXPECT_EQ(tree.container("c2").owner_gid, 5U);
	ok({"container", "del", "c1"});
	EXPECT_EQ(tree.container_names(), (std::vector<std::string>{"c2"}));
}

TEST_F(CliTest, DevicesAddSetShowAttachDel)
{
	ok({"container", "add", "c"});
	ok({"device", "add", "echo", "e0", "max_len=8192", "--enable"});
	EXPECT_TRUE(tree.device("e0").enabled());
	EXPECT_EQ(tree.device("e0").value("max_len"), "8192");
	ok({"attach", "e0", "c"});
	EXPECT_EQ(ok({"device", "list"}), "NAME  CLASS  TYPE  ENABLED  CONTAINER  ID\n"
	                                  "e0    echo   echo  1        c          -\n");
	const auto show = nlohmann::json::parse(ok({"-j", "device", "show", "e0"}));
	EXPECT_EQ(show["container"], "c");
	EXPECT_EQ(show["attributes"]["max_len"], "8192");
	EXPECT_EQ(show["enabled"], true);
	EXPECT_NE(ok({"device", "show", "e0"}).find("type         echo  (read-only)"),
	          std::string::npos);

	const Result busy = vbusctl({"device", "set", "e0", "max_len=100"});
	EXPECT_EQ(busy.status, kExitFailed);
	EXPECT_EQ(busy.err, "vbusctl: device 'e0': set max_len=100: Device or resource busy "
	                    "(class attributes change only while the device is disabled)\n");
	const Result placed = vbusctl({"device", "del", "e0"});
	EXPECT_EQ(placed.status, kExitFailed);
	EXPECT_NE(placed.err.find("detach it first"), std::string::npos);

	ok({"detach", "e0"});
	ok({"device", "disable", "e0"});
	ok({"device", "set", "e0", "max_len=100", "enabled=1"});
	EXPECT_TRUE(tree.device("e0").enabled());
	ok({"device", "del", "e0", "--force"});
	EXPECT_TRUE(tree.device_names().empty());
}

TEST_F(CliTest, RefusedAttributeLeavesNoDeviceBehind)
{
	const Result r = vbusctl({"device", "add", "echo", "e0", "max_len=0"});
	EXPECT_EQ(r.status, kExitFailed);
	EXPECT_EQ(r.err, "vbusctl: device 'e0': set max_len=0: Invalid argument (the value is "
	                 "malformed or out of range); the device was removed again\n");
	EXPECT_TRUE(tree.device_names().empty());
	const Result missing = vbusctl({"device", "add", "echo", "e0", "nosuch=1"});
	EXPECT_NE(missing.err.find("set nosuch=1: No such file or directory (no such attribute)"),
	          std::string::npos);
	EXPECT_TRUE(tree.device_names().empty());
}

TEST_F(CliTest, SaveRestoreGivesAnIdenticalTree)
{
	ok({"container", "add", "c1", "--owner-gid", "10"});
	ok({"device", "add", "echo", "e0", "max_len=777", "--enable"});
	ok({"device", "add", "venet", "v0", "mtu=9000", "ifname=vn0"});
	ok({"attach", "e0", "c1"});
	const fs::path file = dir.path() / "saved.json";
	ok({"save", file.string()});
	const std::string first = test::read_raw(file);
	EXPECT_EQ(ok({"save"}), first);

	EXPECT_EQ(vbusctl({"clear"}).status, kExitUsage);
	ok({"clear", "--yes"});
	EXPECT_TRUE(snapshot(tree).empty());
	ok({"restore", file.string()});
	EXPECT_EQ(ok({"save"}), first);
	// Idempotent: the second time there is nothing to do.
	const unsigned before = changes;
	EXPECT_EQ(ok({"restore", "--dry-run", file.string()}), "");
	ok({"restore", file.string()});
	EXPECT_EQ(changes, before);
}

TEST_F(CliTest, RestoreRefusesToOverwriteUnlessCleared)
{
	ok({"device", "add", "echo", "e0", "max_len=777"});
	const fs::path file = dir.path() / "saved.json";
	ok({"save", file.string()});
	ok({"device", "set", "e0", "max_len=1"});
	ok({"container", "add", "extra"});
	const Result r = vbusctl({"restore", file.string()});
	EXPECT_EQ(r.status, kExitFailed);
	EXPECT_NE(r.err.find("device 'e0': max_len is '1', the configuration has '777'"),
	          std::string::npos);
	EXPECT_NE(r.err.find("refusing"), std::string::npos);
	EXPECT_EQ(tree.device("e0").value("max_len"), "1");
	ok({"restore", "--clear", file.string()});
	EXPECT_EQ(tree.device("e0").value("max_len"), "777");
	EXPECT_TRUE(tree.container_names().empty());
}

TEST_F(CliTest, PartialRestoreExitsWith3AndReportsEachObject)
{
	const fs::path file = dir.path() / "c.json";
	test::write_file(file, R"({"version": 1,
		"containers": [{"name": "c", "owner_uid": null, "owner_gid": null}],
		"devices": [{"name": "good", "class": "echo", "attributes": {"max_len": "10"}, "enabled": true},
		            {"name": "bad", "class": "echo", "attributes": {"max_len": "0"}, "enabled": true}],
		"placements": [{"device": "good", "container": "c"}, {"device": "bad", "container": "c"}]})",
	                 true);
	const Result r = vbusctl({"--json", "restore", file.string()});
	EXPECT_EQ(r.status, kExitPartial);
	EXPECT_NE(r.err.find("vbusctl: restore: device 'bad': set max_len=0: Invalid argument"),
	          std::string::npos)
	    << r.err;
	EXPECT_NE(r.err.find("device 'bad': attach to container 'c': skipped"), std::string::npos);
	const auto report = nlohmann::json::parse(r.out);
	EXPECT_EQ(report["created"], 3);
	EXPECT_EQ(report["failures"].size(), 2U);
	EXPECT_EQ(tree.device_names(), (std::vector<std::string>{"good"}));
	EXPECT_EQ(tree.device("good").container, "c");
}

TEST_F(CliTest, BadConfigurationFileIsAUsageError)
{
	const fs::path file = dir.path() / "c.json";
	test::write_file(file, R"({"version": 9})", true);
	const Result r = vbusctl({"restore", file.string()});
	EXPECT_EQ(r.status, kExitUsage);
	EXPECT_NE(r.err.find(file.string() + ": read configuration: version"), std::string::npos)
	    << r.err;
	EXPECT_EQ(vbusctl({"restore", (dir.path() / "none.json").string()}).status, kExitFailed);
}

} // namespace
} // namespace vbusctl
