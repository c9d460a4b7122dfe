// SPDX-License-Identifier: GPL-2.0
// vbusctl: the configuration file, schema version 1.

#include <gtest/gtest.h>

#include <error.hh>
#include <json.hh>

#include <string>

namespace vbusctl
{
namespace
{

Config sample()
{
	Config c;
	c.containers = {{"c1", 1000U, std::nullopt}, {"c2", std::nullopt, 0U}};
	c.devices = {{"e0", "echo", {{"max_len", "8192"}}, true},
	             {"v0", "venet", {{"ifname", "vn0"}, {"mtu", "9000"}}, false}};
	c.placements = {{"e0", "c1"}, {"v0", "c1"}};
	return c;
}

std::string error_of(const std::string &text)
{
	try {
		parse_config(text, "f.json");
	} catch (const Error &e) {
		EXPECT_EQ(e.kind(), Error::Kind::usage);
		EXPECT_EQ(e.object(), "f.json");
		return e.reason();
	}
	return "no error";
}

TEST(ConfigJson, RoundTrips)
{
	const Config c = sample();
	EXPECT_EQ(parse_config(dump_config(c), "x"), c);
}

TEST(ConfigJson, HasTheDocumentedShape)
{
	const nlohmann::json j = to_json(sample());
	EXPECT_EQ(j.at("version"), 1);
	EXPECT_EQ(j.at("containers").at(0).at("owner_uid"), 1000);
	EXPECT_TRUE(j.at("containers").at(0).at("owner_gid").is_null());
	EXPECT_EQ(j.at("devices").at(0).at("class"), "echo");
	EXPECT_EQ(j.at("devices").at(0).at("attributes").at("max_len"), "8192");
	EXPECT_EQ(j.at("devices").at(0).at("enabled"), true);
	EXPECT_EQ(j.at("placements").at(1).at("device"), "v0");
	EXPECT_EQ(j.at("placements").at(1).at("container"), "c1");
}

TEST(ConfigJson, OutputIsDeterministic)
{
	Config shuffled = sample();
	std::swap(shuffled.devices[0], shuffled.devices[1]);
	std::swap(shuffled.placements[0], shuffled.placements[1]);
	normalise(shuffled);
	EXPECT_EQ(dump_config(shuffled), dump_config(sample()));
	EXPECT_EQ(dump_config(sample()).back(), '\n');
}

TEST(ConfigJson, MissingListsAreEmpty)
{
	EXPECT_TRUE(parse_config(R"({"version": 1})", "x").empty());
}

TEST(ConfigJson, RefusesOtherVersions)
{
	EXPECT_NE(error_of(R"({"containers": []})").find("missing member 'version'"),
	          std::string::npos);
	EXPECT_NE(error_of(R"({"version": 2})").find("reads version 1, the file has 2"),
	          std::string::npos);
}

TEST(ConfigJson, NamesTheBadMember)
{
	EXPECT_EQ(error_of(R"({"version": 1, "devices": [{"name": "d", "class": 7}]})"),
	          "devices[0].class: expected a string");
	EXPECT_EQ(error_of(R"({"version": 1, "devices": [{"name": "d", "class": "echo",
	                     "attributes": {"mtu": 9000}}]})"),
	          "devices[0].attributes.mtu: expected a string");
	EXPECT_EQ(error_of(R"({"version": 1, "containers": [{"name": "c", "owner_uid": -1}]})"),
	          "containers[0].owner_uid: expected null or an id below 4294967295");
	EXPECT_EQ(error_of(R"({"version": 1, "placements": [{"device": "d"}]})"),
	          "placements[0]: missing member 'container'");
	EXPECT_EQ(error_of(R"({"version": 1, "devices": {}})"), "devices: expected an array");
	EXPECT_NE(error_of("{not json").find("parse error"), std::string::npos);
}

TEST(ConfigJson, ChecksReferencesAndNames)
{
	EXPECT_EQ(error_of(R"({"version": 1, "containers": [{"name": "c"}],
	                     "placements": [{"device": "d", "container": "c"}]})"),
	          "placement of 'd' in 'c': no such device in the configuration");
	EXPECT_EQ(error_of(R"({"version": 1, "containers": [{"name": "a/b"}]})"),
	          "container 'a/b': invalid name");
	EXPECT_EQ(error_of(R"({"version": 1, "devices": [{"name": "d", "class": "echo",
	                     "attributes": {"id": "3"}}]})"),
	          "device 'd': 'id' is not a configuration attribute");
	EXPECT_EQ(error_of(R"({"version": 1, "devices": [{"name": "d", "class": "echo",
	                     "attributes": {"enabled": "1"}}]})"),
	          "device 'd': 'enabled' is not a configuration attribute");
	const std::string twice = error_of(R"({"version": 1,
		"containers": [{"name": "a"}, {"name": "b"}],
		"devices": [{"name": "d", "class": "echo"}, {"name": "d", "class": "echo"}],
		"placements": [{"device": "d", "container": "a"}, {"device": "d", "container": "b"}]})");
	EXPECT_NE(twice.find("device 'd': listed twice"), std::string::npos) << twice;
	EXPECT_NE(twice.find("the device is placed twice"), std::string::npos) << twice;
}

} // namespace
} // namespace vbusctl
