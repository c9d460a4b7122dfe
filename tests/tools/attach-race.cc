// SPDX-License-Identifier: GPL-2.0
//
// attach-race: attaches racing with the creation and removal of their
// container.
//
//   attach-race CFS LOCAL NAME SECONDS
//
// One thread makes and removes the container CFS/containers/NAME over
// and over; another attaches to it and detaches through the local
// connector (mkdir and rmdir of LOCAL/NAME), so that attaches find the
// container just made, about to go, or gone.  For SECONDS seconds.
//
// Each operation may succeed or fail only as the interface says: the
// container's rmdir fails with EBUSY while attached, the attach with
// ENOENT while there is no container.  Anything else is a failure, and
// so is a run in which the two never met (no attach succeeded, or no
// container was removed).  At the end both directories are removed.
//
// Prints the counts ("container made N removed N busy N; attached N
// absent N") and "FAIL: ..." for every violation.  Exits 0 when nothing
// was violated, 1 otherwise, 2 on bad usage.

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <span>
#include <string>
#include <thread>

namespace
{

using Clock = std::chrono::steady_clock;

std::mutex out_lock;
std::atomic<unsigned> failures{0};

void fail(const std::string &what, int err)
{
	const std::scoped_lock lock(out_lock);
	std::cout << "FAIL: " << what << ": " << std::strerror(err) << '\n';
	failures++;
}

int sys_mkdir(const std::string &path)
{
	return mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

int sys_rmdir(const std::string &path)
{
	return rmdir(path.c_str()) == 0 ? 0 : errno;
}

struct Counts {
	std::atomic<unsigned long> made{0};
	std::atomic<unsigned long> removed{0};
	std::atomic<unsigned long> busy{0};
	std::atomic<unsigned long> attached{0};
	std::atomic<unsigned long> absent{0};
};

// Makes and removes the container until @end; EBUSY (attached) is
// expected, and then the removal is tried again.
void containers(const std::string &dir, Clock::time_point end, Counts &n)
{
	bool exists = false;
	while (Clock::now() < end) {
		if (!exists) {
			const int err = sys_mkdir(dir);
			if (err != 0) {
				fail("mkdir " + dir, err);
				return;
			}
			n.made++;
			exists = true;
		}
		const int err = sys_rmdir(dir);
		if (err == 0) {
			n.removed++;
			exists = false;
		} else if (err == EBUSY) {
			n.busy++;
		} else {
			fail("rmdir " + dir, err);
			return;
		}
	}
}

// Attaches and detaches until @end; ENOENT (no container) is expected.
void attaches(const std::string &dir, Clock::time_point end, Counts &n)
{
	while (Clock::now() < end) {
		int err = sys_mkdir(dir);
		if (err == ENOENT) {
			n.absent++;
			continue;
		}
		if (err != 0) {
			fail("mkdir " + dir, err);
			return;
		}
		n.attached++;
		err = sys_rmdir(dir);
		if (err != 0) {
			fail("rmdir " + dir, err);
			return;
		}
	}
}

} // namespace

int main(int argc, char **argv)
{
	const std::span<char *> args(argv, static_cast<size_t>(argc));
	if (args.size() != 5) {
		std::cerr << "usage: attach-race CFS LOCAL NAME SECONDS\n";
		return 2;
	}
	const std::string container = std::string(args[1]) + "/containers/" + args[3];
	const std::string attach = std::string(args[2]) + "/" + args[3];
	unsigned long seconds = 0;
	try {
		seconds = std::stoul(args[4]);
	} catch (const std::exception &) {
		std::cerr << "attach-race: SECONDS must be a number, not '" << args[4] << "'\n";
		return 2;
	}

	Counts n;
	const auto end = Clock::now() + std::chrono::seconds(seconds);
	std::thread a([&] { containers(container, end, n); });
	std::thread b([&] { attaches(attach, end, n); });
	a.join();
	b.join();

	std::cout << "container made " << n.made << " removed " << n.removed << " busy " << n.busy
	          << "; attached " << n.attached << " absent " << n.absent << '\n';
	if (n.attached == 0 || n.removed == 0) {
		std::cout << "FAIL: the attaches and the container never met\n";
		failures++;
	}
	struct stat st {
	};
	if (stat(attach.c_str(), &st) == 0) {
		if (const int err = sys_rmdir(attach); err != 0) {
			fail("rmdir " + attach, err);
		}
	}
	if (stat(container.c_str(), &st) == 0) {
		if (const int err = sys_rmdir(container); err != 0) {
			fail("rmdir " + container, err);
		}
	}
	return failures == 0 ? 0 : 1;
}
