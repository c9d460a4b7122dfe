// SPDX-License-Identifier: GPL-2.0
//
// Taking a configuration from the tree, and checking one from a file.

#include "config.hh"

#include "names.hh"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>
#include <tuple>

namespace vbusctl
{

namespace
{

// Attributes every device has that are state, not configuration.
constexpr std::array<std::string_view, 5> kCoreAttributes = {"enabled", "id", "container", "type",
                                                             "connections"};

bool is_core(std::string_view attr)
{
	return std::find(kCoreAttributes.begin(), kCoreAttributes.end(), attr) !=
	       kCoreAttributes.end();
}

template <typename T> const T *find_by_name(const std::vector<T> &list, const std::string &name)
{
	const auto it = std::find_if(list.begin(), list.end(),
	                             [&](const T &item) { return item.name == name; });
	return it == list.end() ? nullptr : &*it;
}

} // namespace

const ContainerConfig *Config::find_container(const std::string &name) const
{
	return find_by_name(containers, name);
}

const DeviceConfig *Config::find_device(const std::string &name) const
{
	return find_by_name(devices, name);
}

std::string Config::placement_of(const std::string &device) const
{
	const auto it = std::find_if(placements.begin(), placements.end(),
	                             [&](const Placement &p) { return p.device == device; });
	return it == placements.end() ? std::string() : it->container;
}

DeviceConfig device_config(const DeviceState &state)
{
	DeviceConfig d{state.name, state.cls, {}, state.enabled()};
	for (const Attribute &a : state.attributes) {
		if (a.writable && !is_core(a.name)) {
			d.attributes.emplace(a.name, a.value);
		}
	}
	return d;
}

void normalise(Config &config)
{
	const auto by_name = [](const auto &a, const auto &b) { return a.name < b.name; };
	std::sort(config.containers.begin(), config.containers.end(), by_name);
	std::sort(config.devices.begin(), config.devices.end(), by_name);
	std::sort(config.placements.begin(), config.placements.end(),
	          [](const Placement &a, const Placement &b) {
		          return std::tie(a.container, a.device) < std::tie(b.container, b.device);
	          });
}

Config snapshot(const Tree &tree)
{
	Config config;
	for (const ContainerState &c : tree.containers()) {
		config.containers.push_back({c.name, c.owner_uid, c.owner_gid});
		for (const std::string &dev : c.devices) {
			config.placements.push_back({dev, c.name});
		}
	}
	for (const DeviceState &d : tree.devices()) {
		config.devices.push_back(device_config(d));
	}
	normalise(config);
	return config;
}

std::vector<std::string> validate(const Config &config)
{
	std::vector<std::string> problems;
	std::set<std::string> containers;
	std::set<std::string> devices;
	for (const ContainerConfig &c : config.containers) {
		if (!valid_name(c.name)) {
			problems.push_back("container '" + c.name + "': invalid name");
		} else if (!containers.insert(c.name).second) {
			problems.push_back("container '" + c.name + "': listed twice");
		}
	}
	for (const DeviceConfig &d : config.devices) {
		const std::string object = "device '" + d.name + "'";
		if (!valid_name(d.name)) {
			problems.push_back(object + ": invalid name");
		} else if (!devices.insert(d.name).second) {
			problems.push_back(object + ": listed twice");
		}
		if (!valid_name(d.cls)) {
			std::string p = object;
			p += ": invalid class '";
			p += d.cls;
			p += "'";
			problems.push_back(p);
		}
		for (const auto &[attr, value] : d.attributes) {
			if (!valid_attribute(attr) || is_core(attr)) {
				std::string p = object;
				p += ": '";
				p += attr;
				p += "' is not a configuration attribute";
				problems.push_back(p);
			} else if (value.find('\n') != std::string::npos) {
				std::string p = object;
				p += ": attribute ";
				p += attr;
				p += " spans lines";
				problems.push_back(p);
			}
		}
	}
	std::set<std::string> placed;
	for (const Placement &p : config.placements) {
		const std::string object =
		    "placement of '" + p.device + "' in '" + p.container + "'";
		if (!devices.contains(p.device)) {
			problems.push_back(object + ": no such device in the configuration");
		}
		if (!containers.contains(p.container)) {
			problems.push_back(object + ": no such container in the configuration");
		}
		if (!placed.insert(p.device).second) {
			problems.push_back(object + ": the device is placed twice");
		}
	}
	return problems;
}

} // namespace vbusctl
