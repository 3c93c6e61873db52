#!/bin/bash
# softdirty-vm.sh - `make test-softdirty`: the dirty-tracking unit test on a
# kernel that has the soft-dirty bit.
#
# This machine's kernel has no CONFIG_MEM_SOFT_DIRTY, so lib/memtrack uses
# userfaultfd write-protection here and its soft-dirty method cannot run.
# Debian 12's own kernel (6.1) has soft-dirty and, being older than 6.7,
# neither PAGEMAP_SCAN nor asynchronous write-protection: on it the tracker
# can only work through soft-dirty.  This script boots that kernel in qemu
# (KVM when /dev/kvm exists) with an initramfs holding busybox,
# build/tests/test_dirty (and the shared libraries it loads) and its helper,
# runs the test as /init and reports its result.  Debian's kernel image is
# downloaded once (apt-get download, not installed) and cached in
# /var/cache/ferry/vm; qemu-system-x86 is installed if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${FERRY_VM_CACHE:-/var/cache/ferry/vm}
TEST=build/tests/test_dirty
HELPER=build/tests/dirty_child
log() { echo "softdirty-vm: $*"; }

install_qemu() {
	local missing=()
	for p in qemu-system-x86 busybox-static cpio; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	((${#missing[@]} == 0)) && return
	log "installing ${missing[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# the kernel image of Debian's linux-image-amd64, extracted into $CACHE
fetch_kernel() {
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || { log "no linux-image package known to apt"; exit 1; }
	KERNEL=$CACHE/$pkg.vmlinuz
	[ -s "$KERNEL" ] && return
	mkdir -p "$CACHE/dl"
	log "downloading $pkg"
	(cd "$CACHE/dl" && apt-get download -q "$pkg" >/dev/null 2>&1)
	rm -rf "$CACHE/x" && mkdir -p "$CACHE/x"
	dpkg-deb -x "$CACHE"/dl/"$pkg"_*.deb "$CACHE/x"
	cp "$CACHE"/x/boot/vmlinuz-* "$KERNEL.tmp" && mv "$KERNEL.tmp" "$KERNEL"
	rm -rf "$CACHE/x" "$CACHE/dl"
}

# /init runs the test and prints a line the host looks for
build_initramfs() {
	local root=$1 lib
	mkdir -p "$root"/{bin,proc,sys,tmp,dev,tests}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$TEST" "$HELPER" "$root/tests/"
	for lib in $(ldd "$TEST" | grep -o '/[^ ]*\.so[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	cat >"$root/init" <<'INIT'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
/bin/busybox mount -t tmpfs tmp /tmp
echo "kernel: $(/bin/busybox uname -r)"
FERRY_EXPECT_DIRTY_METHOD=soft-dirty /tests/test_dirty
echo "SOFTDIRTY-VM-RESULT $?"
/bin/busybox poweroff -f
INIT
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

main() {
	[ -x "$TEST" ] && [ -x "$HELPER" ] || { log "build $TEST and $HELPER first (make unit)"; exit 1; }
	install_qemu
	fetch_kernel
	local out
	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT
	build_initramfs "$WORK/root" "$WORK/initrd.gz"
	log "booting $(basename "$KERNEL" .vmlinuz)"
	out=$WORK/console.log
	timeout 180 qemu-system-x86_64 -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet" >"$out" 2>&1 || true
	tr -d '\r' <"$out" | sed -n '/kernel: /,$p' | sed 's/.*kernel: /kernel: /' | grep -vE "^\[ *[0-9]+\.[0-9]+\]" || true
	local rc
	rc=$(tr -d '\r' <"$out" | awk '/^SOFTDIRTY-VM-RESULT/ {print $2}')
	[ "$rc" = 0 ] || { log "FAILED (result: ${rc:-none}); 0 passed, 1 failed"; exit 1; }
	log "ok; 1 passed, 0 failed"
}

main "$@"
