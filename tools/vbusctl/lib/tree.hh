// SPDX-License-Identifier: GPL-2.0
//
// The configfs tree of vbus as typed objects:
//
//   <root>/containers/<c>/{owner_uid,owner_gid,clients,devices/<link>}
//   <root>/devices/<class>/<device>/{enabled,id,container,type,connections,...}
//
// A device's attributes are the files in its directory; those without
// write permission are read-only.  Placements are the links in a
// container's devices/ directory.  The root is a parameter so that the
// same code runs on a fake tree in a temporary directory.

#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vbusctl
{

inline constexpr std::string_view kDefaultRoot = "/sys/kernel/config/vbus";

struct Attribute {
	std::string name;
	std::string value;
	bool writable = false;

	bool operator==(const Attribute &) const = default;
};

struct ContainerState {
	std::string name;
	std::optional<std::uint32_t> owner_uid;
	std::optional<std::uint32_t> owner_gid;
	unsigned clients = 0;
	std::vector<std::string> devices; // placed here, sorted by name
};

struct DeviceState {
	std::string name;
	std::string cls;
	std::vector<Attribute> attributes; // sorted by name
	std::string container;             // "" when not placed

	[[nodiscard]] const Attribute *find(std::string_view attr) const;
	// The value of @attr, or "" when the device has no such attribute.
	[[nodiscard]] std::string value(std::string_view attr) const;
	[[nodiscard]] bool enabled() const { return value("enabled") == "1"; }
};

class Tree
{
public:
	explicit Tree(std::filesystem::path root = std::filesystem::path(kDefaultRoot));
	Tree(const Tree &) = delete;
	Tree &operator=(const Tree &) = delete;
	Tree(Tree &&) = delete;
	Tree &operator=(Tree &&) = delete;
	virtual ~Tree() = default;

	[[nodiscard]] const std::filesystem::path &root() const { return root_; }

	// Reading.  Lists are sorted by name; a missing object throws.
	[[nodiscard]] std::vector<std::string> classes() const;
	[[nodiscard]] std::vector<std::string> container_names() const;
	[[nodiscard]] std::vector<std::string> device_names() const;
	// The class of device @name, or std::nullopt if there is no such device.
	[[nodiscard]] std::optional<std::string> device_class(const std::string &name) const;
	[[nodiscard]] ContainerState container(const std::string &name) const;
	[[nodiscard]] DeviceState device(const std::string &name) const;
	[[nodiscard]] std::vector<ContainerState> containers() const;
	[[nodiscard]] std::vector<DeviceState> devices() const;
	[[nodiscard]] std::string container_attribute(const std::string &name,
	                                              const std::string &attr) const;

	// Changing: each is one configfs operation and throws an Error
	// naming the object, the operation and the kernel's reason.
	virtual void make_container(const std::string &name);
	virtual void remove_container(const std::string &name);
	virtual void set_container_attribute(const std::string &name, const std::string &attr,
	                                     const std::string &value);
	virtual void make_device(const std::string &cls, const std::string &name);
	virtual void remove_device(const std::string &name);
	virtual void set_device_attribute(const std::string &name, const std::string &attr,
	                                  const std::string &value);
	// Places @device in @container with a link named after the device.
	virtual void attach(const std::string &device, const std::string &container);
	// Removes @device from its container; throws if it is not placed.
	virtual void detach(const std::string &device);

	[[nodiscard]] std::filesystem::path container_dir(const std::string &name) const;
	[[nodiscard]] std::filesystem::path class_dir(const std::string &cls) const;
	// The directory of an existing device; throws if there is none.
	[[nodiscard]] std::filesystem::path device_dir(const std::string &name) const;

private:
	// Placed device name -> link path, for every container.
	[[nodiscard]] std::vector<std::pair<std::string, std::filesystem::path>>
	links(const std::string &container) const;
	// Device name -> the container it is placed in, from one scan.
	[[nodiscard]] std::map<std::string, std::string> placements() const;
	[[nodiscard]] DeviceState read_device(const std::string &name, const std::string &cls,
	                                      std::string container) const;

	std::filesystem::path root_;
};

} // namespace vbusctl
