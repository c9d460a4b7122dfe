// SPDX-License-Identifier: GPL-2.0
//
// cfs-fuzz: the vbus netdevs, and frames on every one of them while the
// threads run.

#ifndef VBUS_TESTS_TOOLS_CFS_FUZZ_TRAFFIC_HH
#define VBUS_TESTS_TOOLS_CFS_FUZZ_TRAFFIC_HH

#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../posix.hh"
#include "report.hh"

namespace cfs_fuzz
{

using testtools::Fd;

inline void set_ifname(ifreq &ifr, const std::string &name)
{
	name.copy(static_cast<char *>(ifr.ifr_name), IFNAMSIZ - 1);
}

// The driver of a netdev ("vbus-venet", "vbus-enet", ...), or "".
inline std::string netdev_driver(int sock, const std::string &name)
{
	ethtool_drvinfo info{};
	info.cmd = ETHTOOL_GDRVINFO;
	ifreq ifr{};
	set_ifname(ifr, name);
	// NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the ioctl's ABI
	ifr.ifr_data = reinterpret_cast<char *>(&info);
	if (ioctl(sock, SIOCETHTOOL, &ifr) != 0) {
		return "";
	}
	return static_cast<const char *>(info.driver);
}

// Netdevs of vbus: the host side of venet and the guest driver's.
inline std::vector<std::pair<unsigned, std::string>> vbus_netdevs(int sock)
{
	std::vector<std::pair<unsigned, std::string>> found;
	using Names = struct if_nameindex;
	const std::unique_ptr<Names, void (*)(Names *)> list(if_nameindex(), if_freenameindex);
	if (!list) {
		return found;
	}
	// NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-pointer-arithmetic): a C array
	for (const Names *i = list.get(); i->if_index != 0; i++) {
		const std::string drv = netdev_driver(sock, i->if_name);
		if (drv.rfind("vbus-", 0) == 0) {
			found.emplace_back(i->if_index, i->if_name);
		}
	}
	return found;
}

struct TrafficCounts {
	unsigned long sent = 0;
	unsigned long refused = 0;
	std::set<std::string> netdevs;
};

inline void traffic(const std::atomic<bool> &stop, TrafficCounts &counts)
{
	const Fd ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	const Fd raw(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!ctl || !raw) {
		report.fail(std::string("traffic: socket: ") + std::strerror(errno));
		return;
	}
	std::array<unsigned char, 1514> frame{};
	std::fill_n(frame.begin(), 6, 0xff); // broadcast
	frame[6] = 0x02;                     // locally administered source
	frame[12] = 0x88;                    // local experimental
	frame[13] = 0xb5;                    // ethertype 0x88b5
	unsigned size = 60;
	while (!stop.load()) {
		for (const auto &[index, name] : vbus_netdevs(ctl.get())) {
			counts.netdevs.insert(name);
			ifreq ifr{};
			set_ifname(ifr, name);
			if (ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) == 0 &&
			    (ifr.ifr_flags & IFF_UP) == 0) {
				ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
				(void)ioctl(ctl.get(), SIOCSIFFLAGS, &ifr);
			}
			sockaddr_ll to{};
			to.sll_family = AF_PACKET;
			to.sll_ifindex = static_cast<int>(index);
			to.sll_halen = ETH_ALEN;
			std::fill_n(std::begin(to.sll_addr), ETH_ALEN, 0xff);
			for (int n = 0; n < 16; n++) {
				size = size >= 1400 ? 60 : size + 97;
				if (sendto(
				        raw.get(), frame.data(), size, 0,
				        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
				        reinterpret_cast<const sockaddr *>(&to),
				        sizeof(to)) == static_cast<ssize_t>(size)) {
					counts.sent++;
				} else {
					counts.refused++;
				}
			}
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
}

} // namespace cfs_fuzz

#endif
