// SPDX-License-Identifier: GPL-2.0
//
// The configfs tree: directory listings, attribute files, mkdir, rmdir,
// symlink and unlink, each failure turned into an Error with context.

#include "tree.hh"

#include "attrfile.hh"
#include "error.hh"
#include "names.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

namespace fs = std::filesystem;

namespace vbusctl
{

namespace
{

std::string container_object(const std::string &name)
{
	return "container '" + name + "'";
}
std::string device_object(const std::string &name)
{
	return "device '" + name + "'";
}

Error not_found(const std::string &what, const std::string &name)
{
	return {what + " '" + name + "'", "look up", "no such " + what, Error::Kind::failed,
	        ENOENT};
}

// The names of the entries of @dir that are directories (or, with
// @links, symbolic links), sorted.
std::vector<std::string> list_dir(const fs::path &dir, const std::string &object, bool links)
{
	std::error_code ec;
	fs::directory_iterator it(dir, ec);
	if (ec) {
		throw Error::from_errno(object, Op::read, "list " + dir.string(), ec.value());
	}
	std::vector<std::string> names;
	for (const fs::directory_entry &entry : it) {
		const bool want = links ? entry.is_symlink(ec) : entry.is_directory(ec);
		if (want && !ec) {
			names.push_back(entry.path().filename().string());
		}
	}
	std::sort(names.begin(), names.end());
	return names;
}

std::string read_or_throw(const fs::path &file, const std::string &object)
{
	std::string value;
	if (const int err = read_attribute(file, value); err != 0) {
		throw Error::from_errno(object, Op::read, "read " + file.filename().string(), err);
	}
	return value;
}

void syscall_or_throw(int ret, const std::string &object, Op op, const std::string &operation)
{
	if (ret < 0) {
		throw Error::from_errno(object, op, operation, errno);
	}
}

Op attribute_op(const std::string &attr, const std::string &value)
{
	if (attr != "enabled") {
		return Op::set_attribute;
	}
	return value == "0" ? Op::disable : Op::enable;
}

std::string attribute_operation(const std::string &attr, const std::string &value)
{
	if (attr == "enabled" && (value == "0" || value == "1")) {
		return value == "1" ? "enable" : "disable";
	}
	return "set " + attr + "=" + value;
}

void check_attribute(const std::string &object, const std::string &attr)
{
	if (!valid_attribute(attr)) {
		throw Error::usage(object, "set " + attr, "no such attribute name");
	}
}

} // namespace

const Attribute *DeviceState::find(std::string_view attr) const
{
	const auto it = std::find_if(attributes.begin(), attributes.end(),
	                             [&](const Attribute &a) { return a.name == attr; });
	return it == attributes.end() ? nullptr : &*it;
}

std::string DeviceState::value(std::string_view attr) const
{
	const Attribute *a = find(attr);
	return a != nullptr ? a->value : std::string();
}

Tree::Tree(fs::path root) : root_(std::move(root)) {}

fs::path Tree::container_dir(const std::string &name) const
{
	check_name("container", name);
	return root_ / "containers" / name;
}

fs::path Tree::class_dir(const std::string &cls) const
{
	check_name("class", cls);
	return root_ / "devices" / cls;
}

fs::path Tree::device_dir(const std::string &name) const
{
	const std::optional<std::string> cls = device_class(name);
	if (!cls) {
		throw not_found("device", name);
	}
	return class_dir(*cls) / name;
}

std::vector<std::string> Tree::classes() const
{
	return list_dir(root_ / "devices", "device classes", false);
}

std::vector<std::string> Tree::container_names() const
{
	return list_dir(root_ / "containers", "containers", false);
}

std::vector<std::string> Tree::device_names() const
{
	std::vector<std::string> names;
	for (const std::string &cls : classes()) {
		for (std::string &name : list_dir(class_dir(cls), "class '" + cls + "'", false)) {
			names.push_back(std::move(name));
		}
	}
	std::sort(names.begin(), names.end());
	return names;
}

std::optional<std::string> Tree::device_class(const std::string &name) const
{
	check_name("device", name);
	for (const std::string &cls : classes()) {
		std::error_code ec;
		if (fs::is_directory(class_dir(cls) / name, ec)) {
			return cls;
		}
	}
	return std::nullopt;
}

std::vector<std::pair<std::string, fs::path>> Tree::links(const std::string &container) const
{
	const fs::path dir = container_dir(container) / "devices";
	std::vector<std::pair<std::string, fs::path>> out;
	for (const std::string &link : list_dir(dir, container_object(container), true)) {
		std::error_code ec;
		const fs::path target = fs::read_symlink(dir / link, ec);
		if (ec) {
			throw Error::from_errno(container_object(container), Op::read,
			                        "read link " + link, ec.value());
		}
		out.emplace_back(target.filename().string(), dir / link);
	}
	std::sort(out.begin(), out.end());
	return out;
}

std::map<std::string, std::string> Tree::placements() const
{
	std::map<std::string, std::string> out;
	for (const std::string &c : container_names()) {
		for (const auto &[dev, link] : links(c)) {
			out.emplace(dev, c);
		}
	}
	return out;
}

std::string Tree::container_attribute(const std::string &name, const std::string &attr) const
{
	check_attribute(container_object(name), attr);
	return read_or_throw(container_dir(name) / attr, container_object(name));
}

ContainerState Tree::container(const std::string &name) const
{
	const std::string object = container_object(name);
	const fs::path dir = container_dir(name);
	std::error_code ec;
	if (!fs::is_directory(dir, ec)) {
		throw not_found("container", name);
	}
	ContainerState c;
	c.name = name;
	c.owner_uid = parse_owner("owner_uid", read_or_throw(dir / "owner_uid", object));
	c.owner_gid = parse_owner("owner_gid", read_or_throw(dir / "owner_gid", object));
	const std::string clients = read_or_throw(dir / "clients", object);
	c.clients = static_cast<unsigned>(std::stoul(clients.empty() ? "0" : clients));
	for (const auto &[dev, link] : links(name)) {
		c.devices.push_back(dev);
	}
	return c;
}

DeviceState Tree::device(const std::string &name) const
{
	const std::optional<std::string> cls = device_class(name);
	if (!cls) {
		throw not_found("device", name);
	}
	const auto placed = placements();
	const auto it = placed.find(name);
	return read_device(name, *cls, it == placed.end() ? std::string() : it->second);
}

DeviceState Tree::read_device(const std::string &name, const std::string &cls,
                              std::string container) const
{
	const std::string object = device_object(name);
	DeviceState d;
	d.name = name;
	d.cls = cls;
	d.container = std::move(container);
	const fs::path dir = class_dir(cls) / name;
	std::error_code ec;
	fs::directory_iterator it(dir, ec);
	if (ec) {
		throw Error::from_errno(object, Op::read, "list attributes", ec.value());
	}
	for (const fs::directory_entry &entry : it) {
		struct stat st {
		};
		if (::lstat(entry.path().c_str(), &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & S_IRUSR) == 0) {
			continue;
		}
		d.attributes.push_back({entry.path().filename().string(),
		                        read_or_throw(entry.path(), object),
		                        (st.st_mode & S_IWUSR) != 0});
	}
	std::sort(d.attributes.begin(), d.attributes.end(),
	          [](const Attribute &a, const Attribute &b) { return a.name < b.name; });
	return d;
}

std::vector<ContainerState> Tree::containers() const
{
	std::vector<ContainerState> out;
	for (const std::string &name : container_names()) {
		out.push_back(container(name));
	}
	return out;
}

std::vector<DeviceState> Tree::devices() const
{
	const auto placed = placements();
	std::vector<DeviceState> out;
	for (const std::string &cls : classes()) {
		for (const std::string &name :
		     list_dir(class_dir(cls), "class '" + cls + "'", false)) {
			const auto it = placed.find(name);
			out.push_back(read_device(name, cls,
			                          it == placed.end() ? std::string() : it->second));
		}
	}
	std::sort(out.begin(), out.end(),
	          [](const DeviceState &a, const DeviceState &b) { return a.name < b.name; });
	return out;
}

void Tree::make_container(const std::string &name)
{
	syscall_or_throw(::mkdir(container_dir(name).c_str(), 0755), container_object(name),
	                 Op::make_container, "create");
}

void Tree::remove_container(const std::string &name)
{
	syscall_or_throw(::rmdir(container_dir(name).c_str()), container_object(name),
	                 Op::remove_container, "remove");
}

void Tree::set_container_attribute(const std::string &name, const std::string &attr,
                                   const std::string &value)
{
	const std::string object = container_object(name);
	check_attribute(object, attr);
	if (const int err = write_attribute(container_dir(name) / attr, value); err != 0) {
		throw Error::from_errno(object, Op::set_attribute, "set " + attr + "=" + value,
		                        err);
	}
}

void Tree::make_device(const std::string &cls, const std::string &name)
{
	check_name("device", name);
	syscall_or_throw(::mkdir((class_dir(cls) / name).c_str(), 0755), device_object(name),
	                 Op::make_device, "create in class '" + cls + "'");
}

void Tree::remove_device(const std::string &name)
{
	syscall_or_throw(::rmdir(device_dir(name).c_str()), device_object(name), Op::remove_device,
	                 "remove");
}

void Tree::set_device_attribute(const std::string &name, const std::string &attr,
                                const std::string &value)
{
	const std::string object = device_object(name);
	check_attribute(object, attr);
	if (const int err = write_attribute(device_dir(name) / attr, value); err != 0) {
		throw Error::from_errno(object, attribute_op(attr, value),
		                        attribute_operation(attr, value), err);
	}
}

void Tree::attach(const std::string &device, const std::string &container)
{
	const fs::path target = device_dir(device);
	const fs::path link = container_dir(container) / "devices" / device;
	syscall_or_throw(::symlink(target.c_str(), link.c_str()), device_object(device), Op::attach,
	                 "attach to container '" + container + "'");
}

void Tree::detach(const std::string &device)
{
	check_name("device", device);
	for (const std::string &c : container_names()) {
		for (const auto &[dev, link] : links(c)) {
			if (dev == device) {
				syscall_or_throw(::unlink(link.c_str()), device_object(device),
				                 Op::detach, "detach from container '" + c + "'");
				return;
			}
		}
	}
	throw Error(device_object(device), "detach", "it is not placed in any container");
}

} // namespace vbusctl
