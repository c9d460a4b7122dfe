// SPDX-License-Identifier: GPL-2.0
//
// Configuration <-> JSON, checked member by member.

#include "json.hh"

#include "error.hh"
#include "names.hh"

#include <cstdint>
#include <limits>

namespace vbusctl
{

using nlohmann::json;

namespace
{

[[noreturn]] void bad(const std::string &where, const std::string &what)
{
	throw Error::usage(where, "read configuration", what);
}

json owner_json(const std::optional<std::uint32_t> &owner)
{
	return owner ? json(*owner) : json(nullptr);
}

const json &member(const json &obj, const std::string &where, const char *key)
{
	if (!obj.contains(key)) {
		bad(where, std::string("missing member '") + key + "'");
	}
	return obj.at(key);
}

std::string string_member(const json &obj, const std::string &where, const char *key)
{
	const json &v = member(obj, where, key);
	if (!v.is_string()) {
		bad(where + "." + key, "expected a string");
	}
	return v.get<std::string>();
}

std::optional<std::uint32_t> owner_member(const json &obj, const std::string &where,
                                          const char *key)
{
	if (!obj.contains(key) || obj.at(key).is_null()) {
		return std::nullopt;
	}
	const json &v = obj.at(key);
	if (!v.is_number_unsigned() ||
	    v.get<std::uint64_t>() >= std::numeric_limits<std::uint32_t>::max()) {
		bad(where + "." + key, "expected null or an id below 4294967295");
	}
	return v.get<std::uint32_t>();
}

const json &array_member(const json &doc, const char *key)
{
	static const json empty = json::array();
	if (!doc.contains(key)) {
		return empty;
	}
	if (!doc.at(key).is_array()) {
		bad(key, "expected an array");
	}
	return doc.at(key);
}

void need_object(const json &v, const std::string &where)
{
	if (!v.is_object()) {
		bad(where, "expected an object");
	}
}

std::string index(const char *key, std::size_t i)
{
	return std::string(key) + "[" + std::to_string(i) + "]";
}

DeviceConfig device_from_json(const json &v, const std::string &where)
{
	need_object(v, where);
	DeviceConfig d{
	    string_member(v, where, "name"), string_member(v, where, "class"), {}, false};
	if (v.contains("attributes")) {
		const json &attrs = v.at("attributes");
		need_object(attrs, where + ".attributes");
		for (const auto &[name, value] : attrs.items()) {
			if (!value.is_string()) {
				std::string member = where;
				member += ".attributes.";
				member += name;
				bad(member, "expected a string");
			}
			d.attributes.emplace(name, value.get<std::string>());
		}
	}
	if (v.contains("enabled")) {
		if (!v.at("enabled").is_boolean()) {
			bad(where + ".enabled", "expected true or false");
		}
		d.enabled = v.at("enabled").get<bool>();
	}
	return d;
}

} // namespace

json to_json(const Config &config)
{
	json doc = {{"version", kSchemaVersion},
	            {"containers", json::array()},
	            {"devices", json::array()},
	            {"placements", json::array()}};
	for (const ContainerConfig &c : config.containers) {
		doc["containers"].push_back({{"name", c.name},
		                             {"owner_uid", owner_json(c.owner_uid)},
		                             {"owner_gid", owner_json(c.owner_gid)}});
	}
	for (const DeviceConfig &d : config.devices) {
		doc["devices"].push_back({{"name", d.name},
		                          {"class", d.cls},
		                          {"attributes", json(d.attributes)},
		                          {"enabled", d.enabled}});
	}
	for (const Placement &p : config.placements) {
		doc["placements"].push_back({{"device", p.device}, {"container", p.container}});
	}
	return doc;
}

Config config_from_json(const json &doc)
{
	need_object(doc, "configuration");
	const json &version = member(doc, "configuration", "version");
	if (!version.is_number_integer() || version.get<std::int64_t>() != kSchemaVersion) {
		bad("version", "this vbusctl reads version " + std::to_string(kSchemaVersion) +
		                   ", the file has " + version.dump());
	}
	Config config;
	const json &containers = array_member(doc, "containers");
	for (std::size_t i = 0; i < containers.size(); ++i) {
		const std::string where = index("containers", i);
		const json &v = containers.at(i);
		need_object(v, where);
		config.containers.push_back({string_member(v, where, "name"),
		                             owner_member(v, where, "owner_uid"),
		                             owner_member(v, where, "owner_gid")});
	}
	const json &devices = array_member(doc, "devices");
	for (std::size_t i = 0; i < devices.size(); ++i) {
		config.devices.push_back(device_from_json(devices.at(i), index("devices", i)));
	}
	const json &placements = array_member(doc, "placements");
	for (std::size_t i = 0; i < placements.size(); ++i) {
		const std::string where = index("placements", i);
		const json &v = placements.at(i);
		need_object(v, where);
		config.placements.push_back(
		    {string_member(v, where, "device"), string_member(v, where, "container")});
	}
	normalise(config);
	return config;
}

Config parse_config(const std::string &text, const std::string &source)
{
	json doc;
	try {
		doc = json::parse(text);
	} catch (const json::parse_error &e) {
		throw Error::usage(source, "parse JSON", e.what());
	}
	Config config;
	try {
		config = config_from_json(doc);
	} catch (const Error &e) {
		throw Error::usage(source, "read configuration", e.object() + ": " + e.reason());
	}
	if (const auto problems = validate(config); !problems.empty()) {
		std::string reason;
		for (const std::string &p : problems) {
			reason += (reason.empty() ? "" : "; ") + p;
		}
		throw Error::usage(source, "check configuration", reason);
	}
	return config;
}

std::string dump_config(const Config &config)
{
	return to_json(config).dump(2) + "\n";
}

json to_json(const ContainerState &container)
{
	return {{"name", container.name},
	        {"owner_uid", owner_json(container.owner_uid)},
	        {"owner_gid", owner_json(container.owner_gid)},
	        {"clients", container.clients},
	        {"devices", container.devices}};
}

json to_json(const DeviceState &device)
{
	json attrs = json::object();
	for (const Attribute &a : device.attributes) {
		attrs[a.name] = a.value;
	}
	return {{"name", device.name},
	        {"class", device.cls},
	        {"type", device.value("type")},
	        {"enabled", device.enabled()},
	        {"container", device.container.empty() ? json(nullptr) : json(device.container)},
	        {"id",
	         device.value("id").empty() ? json(nullptr) : json(std::stoul(device.value("id")))},
	        {"attributes", attrs}};
}

} // namespace vbusctl
