#!/usr/bin/env python3
"""Check the SDK's shipped binaries (Android AAR, iOS XCFramework) before an app team gets them.

An artifact that builds is not one that loads: Android 15 devices with 16 KB pages refuse an .so whose
LOAD segments are aligned to 4 KB, a wrong-ABI library is only found on a device, a `testing` export
left in a release is a backdoor, RELR relocations do not load below API 28, and a slice built for the
simulator links in Xcode only to be refused later. It also refuses relocations left unpacked: a link
without --pack-dyn-relocs=android gives the arm64 library 384 KB of them where 52 KB do. This script
opens the artifacts with the standard library alone (zipfile, struct, plistlib, xml.etree), so it runs
anywhere Python 3.11 does, with no NDK, Xcode or binutils.

  check-artifacts.py aar PATH.aar [--abis arm64-v8a,armeabi-v7a,x86_64] [ELF options] [--json]
  check-artifacts.py xcframework PATH.xcframework [--slices ios-arm64,...] [symbol options] [--json]
  check-artifacts.py so PATH.so --abi arm64-v8a [ELF options] [--json]

ELF options: --page-size N, --symbol NAME..., --forbid-prefix PREFIX..., --allowed-needed a.so,b.so.
Exit status: 0 every check holds; 1 problems found (all of them are listed); 2 usage error.
Sizes are printed in bytes and in MB (10^6 bytes); --json gives exact byte counts.
"""

from __future__ import annotations

import argparse
import io
import json
import mmap
import os
import plistlib
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------------
# Defaults and limits

DEFAULT_ABIS = ["arm64-v8a", "armeabi-v7a", "x86_64"]
DEFAULT_SYMBOLS = ["uniffi_smartid_ffi_fn_constructor_capturesession_new",
                   "ffi_smartid_ffi_uniffi_contract_version"]
DEFAULT_FORBID = ["uniffi_smartid_ffi_fn_func_testing_"]
DEFAULT_NEEDED = ["libc.so", "libm.so", "libdl.so", "liblog.so"]
DEFAULT_PAGE = 16384
LIB_NAME = "libsmartid_ffi.so"
CLASS_PACKAGES = ["com/smartid/sdk/", "com/smartid/ffi/"]
PROGUARD_KEEPS = ["com.sun.jna", "com.smartid"]
FFI_HEADER = "smartid_ffiFFI.h"
FFI_MODULE = "smartid_ffiFFI"

# Caps, so a hostile or corrupt file costs bounded time and memory.
MAX_ZIP_ENTRIES = 100_000
MAX_SMALL_FILE = 16 << 20       # manifest, proguard, R.txt, Info.plist, module maps
MAX_JAR = 512 << 20
MAX_SO = 2 << 30
MAX_CLASS_MAGIC_READS = 100_000
MAX_AR_MEMBERS = 500_000
MAX_SYMBOLS = 20_000_000
MAX_HEADER_WALK = 10_000
MAX_SAMPLE = 3                  # member names quoted per aggregated problem

# ---------------------------------------------------------------------------------------------------
# Bounded reading


class FormatError(Exception):
    """A malformed or truncated structure: reported as one problem line, never as a traceback."""


class Blob:
    """A window on bytes or an mmap; every read is checked against the window, so truncation is caught."""

    __slots__ = ("buf", "base", "size")

    def __init__(self, buf: Any, base: int = 0, size: int | None = None) -> None:
        self.buf = buf
        self.base = base
        self.size = len(buf) - base if size is None else size

    def _check(self, off: int, n: int) -> None:
        if off < 0 or n < 0 or off + n > self.size:
            raise FormatError(f"read of {n} bytes at offset {off:#x} is past the end ({self.size:#x} bytes)")

    def unpack(self, fmt: str, off: int) -> tuple:
        s = struct.Struct(fmt)
        self._check(off, s.size)
        return s.unpack_from(self.buf, self.base + off)

    def bytes(self, off: int, n: int) -> bytes:
        self._check(off, n)
        return bytes(self.buf[self.base + off:self.base + off + n])

    def sub(self, off: int, n: int) -> "Blob":
        self._check(off, n)
        return Blob(self.buf, self.base + off, n)

    def head(self, n: int) -> bytes:
        """The first n bytes or fewer: for sniffing magic numbers without raising."""
        return bytes(self.buf[self.base:self.base + min(n, self.size)])


class StrTab:
    """A string table copied once; names are looked up by offset without copying again."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def get(self, off: int) -> str:
        if off < 0 or off >= len(self.data):
            raise FormatError(f"string offset {off:#x} outside the string table ({len(self.data):#x} bytes)")
        end = self.data.find(b"\0", off)
        if end < 0:
            raise FormatError(f"string at {off:#x} is not NUL-terminated")
        return self.data[off:end].decode("utf-8", "replace")


class MappedFile:
    """A read-only file as a Blob (mmap when possible: the debug .so and iOS archives are hundreds of MB)."""

    def __init__(self, path: str) -> None:
        self.f = open(path, "rb")
        self.map: mmap.mmap | None = None
        size = os.fstat(self.f.fileno()).st_size
        if size == 0:
            self.blob = Blob(b"")
            return
        try:
            self.map = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
            self.blob = Blob(self.map)
        except (OSError, ValueError):
            self.blob = Blob(self.f.read(MAX_SO))

    def __enter__(self) -> Blob:
        return self.blob

    def __exit__(self, *exc: object) -> None:
        if self.map is not None:
            self.map.close()
        self.f.close()


def mb(n: int) -> str:
    return f"{n / 1_000_000:.2f}"


def aggregate(problems: list[str], prefix: str, by_msg: dict[str, list[str]]) -> None:
    """One line per distinct member problem: 800 members with the same fault are one finding."""
    for msg, names in by_msg.items():
        sample = ", ".join(names[:MAX_SAMPLE]) + (", ..." if len(names) > MAX_SAMPLE else "")
        problems.append(f"{prefix}: {msg} ({len(names)} member{'s' if len(names) != 1 else ''}: {sample})")


# ---------------------------------------------------------------------------------------------------
# ELF (Android .so)

ET_DYN = 3
PT_LOAD, PT_DYNAMIC, PT_GNU_STACK = 1, 2, 0x6474E551
PF_X = 1
SHT_DYNSYM, SHT_DYNAMIC = 11, 6
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ = 0, 1, 4, 5, 6, 10
DT_SONAME, DT_TEXTREL, DT_FLAGS, DT_GNU_HASH = 14, 22, 30, 0x6FFFFEF5
DT_RELASZ, DT_RELSZ, DT_RELR = 8, 18, 36
DT_ANDROID_RELSZ, DT_ANDROID_RELASZ, DT_ANDROID_RELR = 0x60000010, 0x60000012, 0x6FFFE000
# A plain relocation table is 24 bytes per entry on 64-bit ABIs (RELA) and 8 on 32-bit ARM (REL); the
# SDK's has ~16 000 (every vtable and string table), packed to ~3 bytes each. A library with more
# unpacked entries than this was linked without --pack-dyn-relocs=android.
PLAIN_RELOCATIONS_MAX = 256
DF_TEXTREL = 0x4
STB_GLOBAL, STB_WEAK = 1, 2
STT_FUNC = 2
STV_HIDDEN, STV_INTERNAL = 2, 1
SHN_UNDEF = 0
ABI_MACHINE = {  # ABI -> (e_machine, ELF class bits)
    "arm64-v8a": (183, 64),
    "armeabi-v7a": (40, 32),
    "x86_64": (62, 64),
    "x86": (3, 32),
}
MACHINE_NAMES = {183: "AArch64", 40: "ARM", 62: "x86-64", 3: "i386"}


@dataclass
class ElfLoad:
    offset: int
    vaddr: int
    filesz: int
    align: int
    flags: int


@dataclass
class ElfInfo:
    bits: int
    etype: int
    machine: int
    loads: list[ElfLoad] = field(default_factory=list)
    gnu_stack: int | None = None          # p_flags of PT_GNU_STACK, None when absent
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    textrel: bool = False
    plain_relocations: int = 0            # entries in DT_RELA/DT_REL (the PLT's are not counted)
    packed_relocation_bytes: int = 0      # DT_ANDROID_RELA/DT_ANDROID_REL: Android's packed format
    relr: bool = False                    # DT_RELR or DT_ANDROID_RELR present
    func_exports: set[str] = field(default_factory=set)   # defined GLOBAL/WEAK FUNC, not hidden
    all_exports: set[str] = field(default_factory=set)    # same, any symbol type
    symbols_from: str = ""
    errors: list[str] = field(default_factory=list)       # parts that could not be read


def _vaddr_to_offset(loads: list[ElfLoad], addr: int) -> int:
    for ld in loads:
        if ld.vaddr <= addr < ld.vaddr + ld.filesz:
            return addr - ld.vaddr + ld.offset
    raise FormatError(f"address {addr:#x} is in no LOAD segment")


def parse_elf(blob: Blob) -> ElfInfo:
    """Reads what the Android loader and linker care about; the header must parse, the rest is best effort."""
    ident = blob.bytes(0, 16)
    if ident[:4] != b"\x7fELF":
        raise FormatError("no ELF magic")
    if ident[4] not in (1, 2):
        raise FormatError(f"unknown ELF class {ident[4]}")
    if ident[5] != 1:
        raise FormatError("not little-endian (EI_DATA != ELFDATA2LSB)")
    is64 = ident[4] == 2
    if is64:
        (etype, machine, _v, _entry, phoff, shoff, _fl, _eh, phentsize, phnum, shentsize, shnum,
         _shstrndx) = blob.unpack("<HHIQQQIHHHHHH", 16)
    else:
        (etype, machine, _v, _entry, phoff, shoff, _fl, _eh, phentsize, phnum, shentsize, shnum,
         _shstrndx) = blob.unpack("<HHIIIIIHHHHHH", 16)
    elf = ElfInfo(bits=64 if is64 else 32, etype=etype, machine=machine)

    ph_fmt = "<IIQQQQQQ" if is64 else "<IIIIIIII"
    if phnum and phentsize != struct.calcsize(ph_fmt):
        raise FormatError(f"e_phentsize {phentsize} (expected {struct.calcsize(ph_fmt)})")
    dynamic: tuple[int, int] | None = None
    for i in range(phnum):
        v = blob.unpack(ph_fmt, phoff + i * phentsize)
        if is64:
            ptype, pflags, poff, pvaddr, _pa, pfilesz, _pm, palign = v
        else:
            ptype, poff, pvaddr, _pa, pfilesz, _pm, pflags, palign = v
        if ptype == PT_LOAD:
            elf.loads.append(ElfLoad(poff, pvaddr, pfilesz, palign, pflags))
        elif ptype == PT_GNU_STACK:
            elf.gnu_stack = pflags
        elif ptype == PT_DYNAMIC:
            dynamic = (poff, pfilesz)

    sections: list[tuple] = []
    sh_fmt = "<IIQQQQIIQQ" if is64 else "<IIIIIIIIII"
    if shoff and shnum:
        try:
            if shentsize != struct.calcsize(sh_fmt):
                raise FormatError(f"e_shentsize {shentsize} (expected {struct.calcsize(sh_fmt)})")
            sections = [blob.unpack(sh_fmt, shoff + i * shentsize) for i in range(shnum)]
        except FormatError as e:
            elf.errors.append(f"section headers unreadable: {e}")
            sections = []

    # The dynamic section: NEEDED, SONAME, TEXTREL, and where the symbol and string tables are.
    dyn: list[tuple[int, int]] = []
    if dynamic is None:
        elf.errors.append("no PT_DYNAMIC segment (not a dynamically linked shared object)")
    else:
        d_fmt = "<qQ" if is64 else "<iI"
        d_size = struct.calcsize(d_fmt)
        try:
            for i in range(min(dynamic[1], blob.size) // d_size):
                tag, val = blob.unpack(d_fmt, dynamic[0] + i * d_size)
                if tag == DT_NULL:
                    break
                dyn.append((tag, val))
        except FormatError as e:
            elf.errors.append(f"dynamic section unreadable: {e}")
    tags: dict[int, int] = {}
    for tag, val in dyn:
        tags.setdefault(tag, val)
    elf.textrel = DT_TEXTREL in tags or bool(tags.get(DT_FLAGS, 0) & DF_TEXTREL)
    elf.plain_relocations = tags.get(DT_RELASZ, 0) // (24 if is64 else 12) + tags.get(DT_RELSZ, 0) // (
        16 if is64 else 8)
    elf.packed_relocation_bytes = tags.get(DT_ANDROID_RELASZ, 0) + tags.get(DT_ANDROID_RELSZ, 0)
    elf.relr = DT_RELR in tags or DT_ANDROID_RELR in tags

    dynstr: StrTab | None = None
    try:
        if DT_STRTAB in tags and DT_STRSZ in tags:
            dynstr = StrTab(blob.bytes(_vaddr_to_offset(elf.loads, tags[DT_STRTAB]), tags[DT_STRSZ]))
    except FormatError as e:
        elf.errors.append(f"DT_STRTAB unreadable: {e}")
    if dynstr is None:  # fall back on the section the SHT_DYNAMIC section links to
        for s in sections:
            if s[1] == SHT_DYNAMIC and s[6] < len(sections):
                link = sections[s[6]]
                try:
                    dynstr = StrTab(blob.bytes(link[4], link[5]))
                except FormatError as e:
                    elf.errors.append(f"dynamic string table unreadable: {e}")
                break
    if dyn and dynstr is None:
        elf.errors.append("no dynamic string table: NEEDED and SONAME cannot be read")
    if dynstr is not None:
        for tag, val in dyn:
            try:
                if tag == DT_NEEDED:
                    elf.needed.append(dynstr.get(val))
                elif tag == DT_SONAME:
                    elf.soname = dynstr.get(val)
            except FormatError as e:
                elf.errors.append(f"dynamic entry {tag}: {e}")

    try:
        _read_dynsym(blob, elf, is64, sections, tags, dynstr)
    except FormatError as e:
        elf.errors.append(f"dynamic symbol table unreadable: {e}")
    return elf


def _gnu_hash_count(blob: Blob, off: int, is64: bool) -> int:
    """Symbol count from DT_GNU_HASH: the highest bucket's chain runs to the entry with bit 0 set."""
    nbuckets, symoffset, bloom_size, _shift = blob.unpack("<IIII", off)
    buckets_off = off + 16 + bloom_size * (8 if is64 else 4)
    raw = blob.bytes(buckets_off, 4 * nbuckets)
    last = max(struct.unpack(f"<{nbuckets}I", raw), default=0)
    if last < symoffset:
        return symoffset
    chain_off = buckets_off + 4 * nbuckets
    i = last
    while i < MAX_SYMBOLS:
        (h,) = blob.unpack("<I", chain_off + 4 * (i - symoffset))
        i += 1
        if h & 1:
            return i
    raise FormatError("DT_GNU_HASH chain does not end")


def _read_dynsym(blob: Blob, elf: ElfInfo, is64: bool, sections: list[tuple], tags: dict[int, int],
                 dynstr: StrTab | None) -> None:
    """The exported symbols, from .dynsym's section header, else from DT_SYMTAB sized by the hash table."""
    sym_fmt = "<IBBHQQ" if is64 else "<IIIBBH"
    sym_size = struct.calcsize(sym_fmt)
    table: bytes | None = None
    strtab: StrTab | None = None
    for s in sections:
        if s[1] == SHT_DYNSYM:
            if s[9] != sym_size:
                raise FormatError(f".dynsym sh_entsize {s[9]} (expected {sym_size})")
            if s[6] >= len(sections):
                raise FormatError(f".dynsym sh_link {s[6]} is not a section")
            link = sections[s[6]]
            table = blob.bytes(s[4], s[5] - s[5] % sym_size)
            strtab = StrTab(blob.bytes(link[4], link[5]))
            elf.symbols_from = ".dynsym section"
            break
    if table is None:
        if DT_SYMTAB not in tags or dynstr is None:
            raise FormatError("no .dynsym section and no DT_SYMTAB/DT_STRTAB")
        if DT_HASH in tags:
            (_nbucket, count) = blob.unpack("<II", _vaddr_to_offset(elf.loads, tags[DT_HASH]))
            elf.symbols_from = "DT_SYMTAB sized by DT_HASH"
        elif DT_GNU_HASH in tags:
            count = _gnu_hash_count(blob, _vaddr_to_offset(elf.loads, tags[DT_GNU_HASH]), is64)
            elf.symbols_from = "DT_SYMTAB sized by DT_GNU_HASH"
        else:
            raise FormatError("no .dynsym section and no DT_HASH/DT_GNU_HASH to size DT_SYMTAB")
        if count > MAX_SYMBOLS:
            raise FormatError(f"{count} symbols is more than the cap {MAX_SYMBOLS}")
        table = blob.bytes(_vaddr_to_offset(elf.loads, tags[DT_SYMTAB]), count * sym_size)
        strtab = dynstr
    assert strtab is not None
    if len(table) // sym_size > MAX_SYMBOLS:
        raise FormatError(f"more than {MAX_SYMBOLS} dynamic symbols")
    for v in struct.iter_unpack(sym_fmt, table):
        if is64:
            name, info, other, shndx = v[0], v[1], v[2], v[3]
        else:
            name, info, other, shndx = v[0], v[3], v[4], v[5]
        bind, stype, vis = info >> 4, info & 0xF, other & 0x3
        if shndx == SHN_UNDEF or bind not in (STB_GLOBAL, STB_WEAK) or vis in (STV_HIDDEN, STV_INTERNAL):
            continue
        sym = strtab.get(name)
        elf.all_exports.add(sym)
        if stype == STT_FUNC:
            elf.func_exports.add(sym)


@dataclass
class ElfOptions:
    page_size: int
    symbols: list[str]
    forbid: list[str]
    allowed_needed: list[str]


def check_elf(blob: Blob, label: str, abi: str, opts: ElfOptions, problems: list[str]) -> dict:
    """Everything Android's loader and the 16 KB page rule demand of one .so, and the FFI's exports."""
    row: dict[str, Any] = {"abi": abi, "file": label, "size_bytes": blob.size}
    try:
        elf = parse_elf(blob)
    except FormatError as e:
        problems.append(f"{label}: not a readable ELF shared object: {e}")
        row["error"] = str(e)
        return row
    for err in elf.errors:
        problems.append(f"{label}: {err}")
    want_machine, want_bits = ABI_MACHINE[abi]
    row.update({
        "elf_class": elf.bits, "machine": elf.machine,
        "machine_name": MACHINE_NAMES.get(elf.machine, f"e_machine {elf.machine}"),
        "load_aligns": [ld.align for ld in elf.loads],
        "soname": elf.soname, "needed": elf.needed, "textrel": elf.textrel,
        "relocations": {"plain_entries": elf.plain_relocations,
                        "android_packed_bytes": elf.packed_relocation_bytes, "relr": elf.relr},
        "gnu_stack": None if elf.gnu_stack is None else ("RWX" if elf.gnu_stack & PF_X else "RW"),
        "symbols_from": elf.symbols_from,
    })
    if elf.etype != ET_DYN:
        problems.append(f"{label}: e_type {elf.etype} is not ET_DYN (3): not a shared object")
    if elf.machine != want_machine:
        problems.append(f"{label}: e_machine {elf.machine} ({row['machine_name']}) but {abi} needs "
                        f"{want_machine} ({MACHINE_NAMES[want_machine]})")
    if elf.bits != want_bits:
        problems.append(f"{label}: ELF{elf.bits} but {abi} needs ELF{want_bits}")
    page = opts.page_size
    if not elf.loads:
        problems.append(f"{label}: no PT_LOAD segment")
    for i, ld in enumerate(elf.loads):
        if ld.align < page:
            problems.append(f"{label}: LOAD[{i}] p_align {ld.align:#x} < page size {page:#x} "
                            f"(refused on 16 KB-page devices; link with -z max-page-size={page})")
        if ld.offset % page != ld.vaddr % page:
            problems.append(f"{label}: LOAD[{i}] p_offset {ld.offset:#x} and p_vaddr {ld.vaddr:#x} "
                            f"differ modulo the page size {page:#x}")
    if elf.gnu_stack is None:
        problems.append(f"{label}: no PT_GNU_STACK (the loader may give the process an executable stack)")
    elif elf.gnu_stack & PF_X:
        problems.append(f"{label}: PT_GNU_STACK is executable")
    if elf.textrel:
        problems.append(f"{label}: has text relocations (DT_TEXTREL/DF_TEXTREL), refused since API 23")
    # Android's packed relocations (lld --pack-dyn-relocs=android) are read by the loader from API 23,
    # the SDK's minSdk; RELR only from API 28, so a library with it does not load on API 23-27.
    if elf.relr:
        problems.append(f"{label}: RELR relocations (DT_RELR/DT_ANDROID_RELR) load only from API 28, above "
                        f"minSdk 23: link with --pack-dyn-relocs=android")
    if elf.plain_relocations > PLAIN_RELOCATIONS_MAX:
        problems.append(f"{label}: {elf.plain_relocations} dynamic relocations in a plain table: link with "
                        f"--pack-dyn-relocs=android (Android's packed format, which loads from API 23)")
    want_soname = label.rsplit("/", 1)[-1]
    if elf.soname != want_soname:
        problems.append(f"{label}: DT_SONAME {elf.soname!r}, expected {want_soname!r}")
    allowed = set(opts.allowed_needed)
    for lib in elf.needed:
        if lib not in allowed:
            problems.append(f"{label}: DT_NEEDED {lib!r} is not allowed ({', '.join(opts.allowed_needed)})")
    found = {s: s in elf.func_exports for s in opts.symbols}
    for s, ok in found.items():
        if not ok:
            problems.append(f"{label}: does not export the function {s}")
    bad = sorted(s for s in elf.all_exports if any(s.startswith(p) for p in opts.forbid))
    if bad:
        problems.append(f"{label}: exports {len(bad)} forbidden symbol(s): {', '.join(bad[:5])}"
                        + (", ..." if len(bad) > 5 else ""))
    row.update({"symbols": found, "forbidden_found": bad,
                "uniffi_exports": sum(1 for s in elf.func_exports if s.startswith("uniffi_"))})
    return row


# ---------------------------------------------------------------------------------------------------
# Zip / AAR

ANDROID_NS = "{http://schemas.android.com/apk/res/android}"
PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
              NotImplementedError, RuntimeError, ValueError, struct.error)


def read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """An entry's bytes with its declared size capped and its CRC checked by zipfile."""
    if info.file_size > cap:
        raise FormatError(f"{info.file_size} bytes is more than the cap {cap}")
    try:
        return zf.read(info)
    except ZIP_ERRORS as e:
        raise FormatError(f"cannot be read: {e}") from None


def unsafe_entry_name(name: str) -> str | None:
    """Why an entry name could write outside the extraction directory (zip slip), if it could."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in the name"
    if ".." in name.split("/"):
        return "path traversal (..)"
    return None


def check_manifest(data: bytes, problems: list[str]) -> dict:
    """AGP merges this into the app's manifest: it must be plain XML naming a package and a minSdk."""
    info: dict[str, Any] = {}
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError) as e:
        problems.append(f"AndroidManifest.xml: not well-formed XML: {e}")
        return info
    if root.tag != "manifest":
        problems.append(f"AndroidManifest.xml: root element is <{root.tag}>, not <manifest>")
    pkg = root.get("package")
    if not pkg:
        problems.append("AndroidManifest.xml: <manifest> has no package attribute")
    else:
        info["package"] = pkg
        if not PACKAGE_RE.match(pkg):
            problems.append(f"AndroidManifest.xml: package {pkg!r} is not a valid Java package name")
    sdk = root.find("uses-sdk")
    if sdk is None:
        problems.append("AndroidManifest.xml: no <uses-sdk> element")
    else:
        v = sdk.get(ANDROID_NS + "minSdkVersion")
        if v is None:
            problems.append("AndroidManifest.xml: <uses-sdk> has no android:minSdkVersion")
        elif not v.strip().isdigit():
            problems.append(f"AndroidManifest.xml: android:minSdkVersion {v!r} is not a number")
        else:
            info["minSdkVersion"] = int(v)
    return info


def check_classes_jar(data: bytes, problems: list[str]) -> dict:
    """The Kotlin facade and the generated uniffi bindings must both be compiled into classes.jar."""
    info: dict[str, Any] = {}
    try:
        jar = zipfile.ZipFile(io.BytesIO(data))
        infos = jar.infolist()
    except ZIP_ERRORS as e:
        problems.append(f"classes.jar: not a valid zip: {e}")
        return info
    classes = [i for i in infos if i.filename.endswith(".class")]
    info["classes"] = len(classes)
    if not classes:
        problems.append("classes.jar: contains no .class file")
    for pkg in CLASS_PACKAGES:
        n = sum(1 for i in classes if i.filename.startswith(pkg))
        info[pkg] = n
        if n == 0:
            problems.append(f"classes.jar: no class under {pkg}")
    bad: list[str] = []
    for i in classes[:MAX_CLASS_MAGIC_READS]:
        try:
            with jar.open(i) as f:
                if f.read(4) != b"\xca\xfe\xba\xbe":
                    bad.append(i.filename)
        except ZIP_ERRORS:
            bad.append(i.filename)
    if bad:
        problems.append(f"classes.jar: {len(bad)} .class entr{'y is' if len(bad) == 1 else 'ies are'} not "
                        f"class files (no CAFEBABE): {', '.join(bad[:MAX_SAMPLE])}")
    return info


def proguard_rules(text: str) -> list[str]:
    """ProGuard/R8 rules, one string each (a rule's { ... } body may span lines; # starts a comment)."""
    rules: list[str] = []
    cur: str | None = None
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            if cur is not None:
                rules.append(cur)
            cur = line
        else:
            cur = line if cur is None else f"{cur} {line}"
    if cur is not None:
        rules.append(cur)
    return rules


def check_proguard(data: bytes, problems: list[str]) -> dict:
    """R8 in the app strips JNA's reflection targets and uniffi's callbacks unless these rules ship along."""
    text = data.decode("utf-8", "replace")
    keeps = [r for r in proguard_rules(text) if r.startswith("-keep")]
    info: dict[str, Any] = {"keep_rules": len(keeps)}
    if not text.strip():
        problems.append("proguard.txt: empty (the app's R8 would strip JNA and the bindings)")
        return info
    for pkg in PROGUARD_KEEPS:
        ok = any(pkg in r for r in keeps)
        info[pkg] = ok
        if not ok:
            problems.append(f"proguard.txt: no -keep rule mentions {pkg}")
    return info


def check_aar(path: str, abis: list[str], opts: ElfOptions) -> dict:
    """The AAR's layout as AGP consumes it, then each ABI's .so as Android's loader does."""
    problems: list[str] = []
    report: dict[str, Any] = {"kind": "aar", "path": path, "size_bytes": os.path.getsize(path),
                              "problems": problems, "libraries": []}
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except ZIP_ERRORS as e:
        problems.append(f"{path}: not a valid zip (AAR): {e}")
        return report
    with zf:
        if len(infos) > MAX_ZIP_ENTRIES:
            problems.append(f"{len(infos)} zip entries is more than the cap {MAX_ZIP_ENTRIES}")
            return report
        report["entries"] = len(infos)
        counts = Counter(i.filename for i in infos)
        for name, n in counts.items():
            if n > 1:
                problems.append(f"duplicate entry {name!r} ({n} times)")
        for i in infos:
            why = unsafe_entry_name(i.filename)
            if why:
                problems.append(f"unsafe entry name {i.filename!r}: {why}")
        by_name: dict[str, zipfile.ZipInfo] = {}
        for i in infos:
            by_name.setdefault(i.filename, i)

        def entry(name: str, cap: int) -> bytes | None:
            if name not in by_name:
                problems.append(f"missing entry {name}")
                return None
            try:
                return read_entry(zf, by_name[name], cap)
            except FormatError as e:
                problems.append(f"{name}: {e}")
                return None

        data = entry("AndroidManifest.xml", MAX_SMALL_FILE)
        if data is not None:
            report["manifest"] = check_manifest(data, problems)
        data = entry("classes.jar", MAX_JAR)
        if data is not None:
            report["classes_jar"] = check_classes_jar(data, problems)
        entry("R.txt", MAX_SMALL_FILE)  # present, possibly empty
        data = entry("proguard.txt", MAX_SMALL_FILE)
        if data is not None:
            report["proguard"] = check_proguard(data, problems)

        jni_dirs: dict[str, list[str]] = {}
        for name in by_name:
            parts = name.split("/")
            if parts[0] != "jni" or len(parts) < 2 or (len(parts) == 2 and parts[1] == ""):
                continue
            if len(parts) == 2:
                problems.append(f"stray file {name!r} directly under jni/ (outside any ABI directory)")
                continue
            jni_dirs.setdefault(parts[1], [])
            if parts[-1]:
                jni_dirs[parts[1]].append("/".join(parts[2:]))
        report["jni_abis"] = sorted(jni_dirs)
        for extra in sorted(set(jni_dirs) - set(abis)):
            problems.append(f"unexpected ABI directory jni/{extra}/ (requested: {', '.join(abis)})")
        for abi in abis:
            name = f"jni/{abi}/{LIB_NAME}"
            if name not in by_name:
                problems.append(f"missing ABI {abi}: no {name}")
                continue
            others = sorted(f for f in jni_dirs.get(abi, []) if f != LIB_NAME)
            try:
                so = read_entry(zf, by_name[name], MAX_SO)
            except FormatError as e:
                problems.append(f"{name}: {e}")
                continue
            row = check_elf(Blob(so), name, abi, opts, problems)
            row["compressed_bytes"] = by_name[name].compress_size
            row["other_files"] = others
            report["libraries"].append(row)
    return report


def check_so(path: str, abi: str, opts: ElfOptions) -> dict:
    """One library alone, named by its file name (which DT_SONAME must equal)."""
    problems: list[str] = []
    report: dict[str, Any] = {"kind": "so", "path": path, "size_bytes": os.path.getsize(path),
                              "problems": problems, "libraries": []}
    with MappedFile(path) as blob:
        report["libraries"].append(check_elf(blob, os.path.basename(path), abi, opts, problems))
    return report


# ---------------------------------------------------------------------------------------------------
# ar (static libraries)

AR_MAGIC = b"!<arch>\n"


@dataclass
class ArMember:
    name: str
    offset: int   # of the member's data (after a BSD #1/ name) in the archive's blob
    size: int


def parse_ar(blob: Blob) -> list[ArMember]:
    """Members of a System V/GNU or BSD ar archive: GNU `//` long names, BSD `#1/NN` names after the header
    (the form LLVM writes for Apple targets)."""
    magic = blob.head(8)
    if magic == b"!<thin>\n":
        raise FormatError("thin archive: the object files are not inside it")
    if magic != AR_MAGIC:
        raise FormatError(f"not an ar archive (starts with {magic!r})")
    members: list[ArMember] = []
    longnames: bytes | None = None
    off = 8
    while off < blob.size:
        if blob.size - off < 60:
            if blob.bytes(off, blob.size - off).strip(b"\n") == b"":
                break  # trailing padding
            raise FormatError(f"truncated member header at offset {off:#x}")
        hdr = blob.bytes(off, 60)
        if hdr[58:60] != b"`\n":
            raise FormatError(f"bad member header at offset {off:#x}")
        raw = hdr[0:16].decode("ascii", "replace").rstrip(" ")
        size_field = hdr[48:58].decode("ascii", "replace").strip()
        if not size_field.isdigit():
            raise FormatError(f"member size {size_field!r} at offset {off:#x} is not a number")
        total = int(size_field)
        data_off, size = off + 60, total
        if data_off + total > blob.size:
            raise FormatError(f"member at offset {off:#x} ({total} bytes) runs past the end (truncated)")
        if raw.startswith("#1/"):
            if not raw[3:].isdigit() or int(raw[3:]) > total:
                raise FormatError(f"bad BSD name length {raw!r} at offset {off:#x}")
            n = int(raw[3:])
            name = blob.bytes(data_off, n).rstrip(b"\0").decode("utf-8", "replace")
            data_off, size = data_off + n, total - n
        elif raw == "//":
            longnames = blob.bytes(data_off, total)
            name = raw
        elif raw in ("/", "/SYM64/"):
            name = raw
        elif raw.startswith("/") and raw[1:].isdigit():
            if longnames is None:
                raise FormatError(f"long name {raw!r} before any // table")
            i = int(raw[1:])
            if i >= len(longnames):
                raise FormatError(f"long name {raw!r} outside the // table")
            end = longnames.find(b"\n", i)
            name = longnames[i:end if end >= 0 else len(longnames)].decode("utf-8", "replace").rstrip("/")
        else:
            name = raw[:-1] if raw.endswith("/") else raw
        members.append(ArMember(name, data_off, size))
        if len(members) > MAX_AR_MEMBERS:
            raise FormatError(f"more than {MAX_AR_MEMBERS} members")
        off = off + 60 + total
        off += off & 1
    return members


# ---------------------------------------------------------------------------------------------------
# Mach-O (the objects inside an iOS static library)

MH_MAGIC_64 = 0xFEEDFACF
OTHER_MACHO_MAGICS = {0xFEEDFACE: "32-bit Mach-O", 0xCEFAEDFE: "big-endian Mach-O",
                      0xCFFAEDFE: "big-endian Mach-O"}
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
LC_SYMTAB, LC_BUILD_VERSION = 0x2, 0x32
LC_VERSION_MIN = {0x24: 1, 0x25: 2, 0x2F: 3, 0x30: 4}  # macosx, iphoneos, tvos, watchos -> platform
N_STAB, N_PEXT, N_TYPE, N_EXT, N_SECT = 0xE0, 0x10, 0x0E, 0x01, 0x0E
CPU_TYPES = {"arm64": 0x0100000C, "arm64e": 0x0100000C, "x86_64": 0x01000007, "arm64_32": 0x0200000C,
             "i386": 7, "armv7": 12, "armv7s": 12, "armv7k": 12}
CPU_NAMES = {0x0100000C: "arm64", 0x01000007: "x86_64", 0x0200000C: "arm64_32", 7: "i386", 12: "arm"}
PLATFORM_NAMES = {1: "macos", 2: "ios", 3: "tvos", 4: "watchos", 5: "bridgeos", 6: "maccatalyst",
                  7: "ios-simulator", 8: "tvos-simulator", 9: "watchos-simulator", 10: "driverkit",
                  11: "visionos", 12: "visionos-simulator"}
SLICE_PLATFORMS = {("ios", None): 2, ("ios", "simulator"): 7, ("ios", "maccatalyst"): 6,
                   ("macos", None): 1, ("tvos", None): 3, ("tvos", "simulator"): 8,
                   ("watchos", None): 4, ("watchos", "simulator"): 9,
                   ("xros", None): 11, ("xros", "simulator"): 12}


@dataclass
class MachO:
    cputype: int
    # (platform, minos, read from a legacy LC_VERSION_MIN_* rather than LC_BUILD_VERSION)
    platforms: list[tuple[int, str, bool]] = field(default_factory=list)
    defined: set[str] = field(default_factory=set)          # external, in a section, not private extern
    defined_private: set[str] = field(default_factory=set)  # N_PEXT: hidden, still linkable statically


def decode_version(v: int) -> str:
    """Mach-O versions are nibbles xxxx.yy.zz: 0x000C0000 is 12.0.0."""
    return f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}"


def parse_macho(blob: Blob) -> MachO:
    """A 64-bit little-endian Mach-O's cputype, platform load commands and defined external symbols."""
    (magic, cputype, _sub, _ftype, ncmds, sizeofcmds, _flags, _res) = blob.unpack("<IIIIIIII", 0)
    if magic != MH_MAGIC_64:
        raise FormatError(f"magic {magic:#x} is not MH_MAGIC_64")
    if 32 + sizeofcmds > blob.size:
        raise FormatError(f"load commands ({sizeofcmds} bytes) run past the end ({blob.size} bytes)")
    if ncmds > sizeofcmds // 8:
        raise FormatError(f"{ncmds} load commands cannot fit in {sizeofcmds} bytes")
    m = MachO(cputype=cputype)
    off, end = 32, 32 + sizeofcmds
    symtab: tuple[int, int, int, int] | None = None
    for _ in range(ncmds):
        cmd, cmdsize = blob.unpack("<II", off)
        if cmdsize < 8 or off + cmdsize > end:
            raise FormatError(f"load command {cmd:#x} at {off:#x} has bad size {cmdsize}")
        if cmd == LC_BUILD_VERSION:
            if cmdsize < 24:
                raise FormatError(f"LC_BUILD_VERSION of {cmdsize} bytes")
            platform, minos = blob.unpack("<II", off + 8)
            m.platforms.append((platform, decode_version(minos), False))
        elif cmd in LC_VERSION_MIN:
            if cmdsize < 16:
                raise FormatError(f"LC_VERSION_MIN of {cmdsize} bytes")
            (version,) = blob.unpack("<I", off + 8)
            m.platforms.append((LC_VERSION_MIN[cmd], decode_version(version), True))
        elif cmd == LC_SYMTAB:
            if cmdsize < 24:
                raise FormatError(f"LC_SYMTAB of {cmdsize} bytes")
            symtab = blob.unpack("<IIII", off + 8)
        off += cmdsize
    if symtab is not None:
        symoff, nsyms, stroff, strsize = symtab
        if nsyms > MAX_SYMBOLS:
            raise FormatError(f"{nsyms} symbols is more than the cap {MAX_SYMBOLS}")
        table = blob.bytes(symoff, nsyms * 16)
        strings = StrTab(blob.bytes(stroff, strsize))
        for n_strx, n_type, _n_sect, _desc, _value in struct.iter_unpack("<IBBHQ", table):
            if n_type & N_STAB or not n_type & N_EXT or n_type & N_TYPE != N_SECT:
                continue
            name = strings.get(n_strx)
            name = name[1:] if name.startswith("_") else name  # C symbols carry a leading underscore
            (m.defined_private if n_type & N_PEXT else m.defined).add(name)
    return m


@dataclass
class ArchiveScan:
    members: int = 0
    macho: int = 0
    skipped: list[str] = field(default_factory=list)
    cputypes: set[str] = field(default_factory=set)
    platforms: set[str] = field(default_factory=set)
    minos: set[str] = field(default_factory=set)
    version_commands: Counter = field(default_factory=Counter)  # LC_BUILD_VERSION vs legacy LC_VERSION_MIN_*
    defined: set[str] = field(default_factory=set)
    defined_private: set[str] = field(default_factory=set)


def scan_archive(blob: Blob, label: str, archs: list[str], want_platform: int, scan: ArchiveScan,
                 problems: list[str]) -> None:
    """Each Mach-O member must be for the slice's CPUs and platform; other members (the symbol table
    `__.SYMDEF`, `/`) are skipped."""
    try:
        members = parse_ar(blob)
    except FormatError as e:
        problems.append(f"{label}: not a readable static archive: {e}")
        return
    want_cpus = {CPU_TYPES[a] for a in archs if a in CPU_TYPES}
    by_msg: dict[str, list[str]] = {}
    for mem in members:
        scan.members += 1
        sub = blob.sub(mem.offset, mem.size)
        head = sub.head(4)
        magic = struct.unpack("<I", head)[0] if len(head) == 4 else 0
        if magic in OTHER_MACHO_MAGICS:
            by_msg.setdefault(f"{OTHER_MACHO_MAGICS[magic]} member (expected 64-bit little-endian)",
                              []).append(mem.name)
            continue
        if magic != MH_MAGIC_64:
            scan.skipped.append(mem.name)
            continue
        scan.macho += 1
        try:
            m = parse_macho(sub)
        except FormatError as e:
            by_msg.setdefault(f"malformed Mach-O: {e}", []).append(mem.name)
            continue
        cpu = CPU_NAMES.get(m.cputype, f"cputype {m.cputype:#x}")
        scan.cputypes.add(cpu)
        if m.cputype not in want_cpus:
            by_msg.setdefault(f"{cpu} object in a slice for {','.join(archs)}", []).append(mem.name)
        scan.defined |= m.defined
        scan.defined_private |= m.defined_private
        if not m.platforms:
            by_msg.setdefault("no LC_BUILD_VERSION or LC_VERSION_MIN", []).append(mem.name)
        for platform, minos, legacy in m.platforms:
            # Before Xcode 12 simulator objects (x86_64, i386) carried LC_VERSION_MIN_IPHONEOS.
            if legacy and platform == 2 and want_platform == 7 and m.cputype in (0x01000007, 7):
                platform = 7
            scan.platforms.add(PLATFORM_NAMES.get(platform, f"platform {platform}"))
            scan.minos.add(minos)
            scan.version_commands["LC_VERSION_MIN" if legacy else "LC_BUILD_VERSION"] += 1
            if platform != want_platform:
                got = PLATFORM_NAMES.get(platform, platform)
                want = PLATFORM_NAMES.get(want_platform, want_platform)
                by_msg.setdefault(f"built for {got} (platform {platform}), slice needs {want} "
                                  f"(platform {want_platform})", []).append(mem.name)
    aggregate(problems, label, by_msg)


def scan_library(blob: Blob, label: str, archs: list[str], want_platform: int,
                 problems: list[str]) -> ArchiveScan:
    """A slice's library: one ar archive, or a universal (fat) file holding one archive per architecture."""
    scan = ArchiveScan()
    head = blob.head(8)
    fat_magic = struct.unpack(">I", head[:4])[0] if len(head) >= 4 else 0
    if fat_magic not in (FAT_MAGIC, FAT_MAGIC_64):
        scan_archive(blob, label, archs, want_platform, scan, problems)
        return scan
    try:
        (nfat,) = blob.unpack(">I", 4)
        if nfat > 64:
            raise FormatError(f"{nfat} architectures in the fat header")
        is64 = fat_magic == FAT_MAGIC_64
        slices = []
        for i in range(nfat):
            if is64:
                cpu, _sub, off, size, _align, _r = blob.unpack(">IIQQII", 8 + i * 32)
            else:
                cpu, _sub, off, size, _align = blob.unpack(">IIIII", 8 + i * 20)
            slices.append((cpu, blob.sub(off, size)))
    except FormatError as e:
        problems.append(f"{label}: malformed universal (fat) header: {e}")
        return scan
    fat_cpus = sorted(CPU_NAMES.get(c, hex(c)) for c, _ in slices)
    if set(fat_cpus) != {CPU_NAMES.get(CPU_TYPES.get(a, -1), a) for a in archs}:
        problems.append(f"{label}: universal file holds {','.join(fat_cpus)}, the slice declares "
                        f"{','.join(archs)}")
    for cpu, sub in slices:
        name = CPU_NAMES.get(cpu, hex(cpu))
        scan_archive(sub, f"{label} [{name}]", [a for a in archs if CPU_TYPES.get(a) == cpu] or [name],
                     want_platform, scan, problems)
    return scan


def check_static_library(path: str, label: str, archs: list[str], want_platform: int,
                         symbols: list[str], forbid: list[str], problems: list[str]) -> dict:
    """The objects an app links: right CPUs and platform, the FFI's entry points, no test-only ones."""
    row: dict[str, Any] = {"library": label, "size_bytes": os.path.getsize(path)}
    with MappedFile(path) as blob:
        scan = scan_library(blob, label, archs, want_platform, problems)
    if scan.members and not scan.macho:
        problems.append(f"{label}: no 64-bit Mach-O object among its {scan.members} members")
    missing_cpus = [a for a in archs if CPU_NAMES.get(CPU_TYPES.get(a, -1)) not in scan.cputypes]
    if scan.macho and missing_cpus:
        problems.append(f"{label}: no object for declared architecture(s) {', '.join(missing_cpus)}")
    found = {s: s in scan.defined for s in symbols}
    for s, ok in found.items():
        if not ok:
            hidden = " (only as a private extern)" if s in scan.defined_private else ""
            problems.append(f"{label}: no member defines {s}{hidden}")
    bad = sorted(s for s in scan.defined | scan.defined_private if any(s.startswith(p) for p in forbid))
    if bad:
        problems.append(f"{label}: defines {len(bad)} forbidden symbol(s): {', '.join(bad[:5])}"
                        + (", ..." if len(bad) > 5 else ""))
    row.update({
        "members": scan.members, "macho_members": scan.macho, "skipped_members": scan.skipped[:20],
        "cputypes": sorted(scan.cputypes), "platforms": sorted(scan.platforms), "minos": sorted(scan.minos),
        "version_commands": dict(scan.version_commands),
        "symbols": found, "forbidden_found": bad,
        "uniffi_exports": sum(1 for s in scan.defined if s.startswith("uniffi_")),
    })
    return row


# ---------------------------------------------------------------------------------------------------
# XCFramework (Info.plist, slices, headers)


def safe_relative(p: str) -> bool:
    """A plist path that stays inside the framework (no absolute path, no ..)."""
    return bool(p) and not p.startswith("/") and ".." not in p.split("/") and "\\" not in p


def strip_c_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


def check_headers(slice_dir: str, headers_path: str | None, label: str, problems: list[str]) -> dict:
    """Swift imports the C FFI through `module smartid_ffiFFI`: the module map must name the shipped
    header, and Clang only finds it under the name module.modulemap."""
    info: dict[str, Any] = {}
    if headers_path is None:
        problems.append(f"{label}: no HeadersPath (Swift cannot `import {FFI_MODULE}`)")
        return info
    hdir = os.path.join(slice_dir, headers_path)
    info["headers"] = headers_path
    if not os.path.isdir(hdir):
        problems.append(f"{label}: headers directory {headers_path} is missing")
        return info
    files: list[str] = []
    for root, dirs, names in os.walk(hdir):
        dirs.sort()
        files += [os.path.join(root, n) for n in sorted(names)]
        if len(files) > MAX_HEADER_WALK:
            break
    rel = [os.path.relpath(f, hdir) for f in files]
    headers = [f for f in files if os.path.basename(f) == FFI_HEADER]
    maps = [f for f in files if os.path.basename(f) == "module.modulemap"]
    info["files"] = rel[:50]
    if not headers:
        problems.append(f"{label}: {headers_path} has no {FFI_HEADER}")
    if not maps:
        hint = [r for r in rel if r.endswith(".modulemap")]
        problems.append(f"{label}: {headers_path} has no module.modulemap"
                        + (f" (found {', '.join(hint)}: Clang only reads module.modulemap)" if hint else ""))
        return info
    ok = False
    for mm in maps:
        mm_rel = os.path.relpath(mm, hdir)
        try:
            if os.path.getsize(mm) > MAX_SMALL_FILE:
                raise OSError("too large")
            with open(mm, "rb") as f:
                text = strip_c_comments(f.read().decode("utf-8", "replace"))
        except OSError as e:
            problems.append(f"{label}: {mm_rel} unreadable: {e}")
            continue
        if not re.search(rf"\bmodule\s+{re.escape(FFI_MODULE)}\s*(\[[^\]]*\]\s*)*\{{", text):
            continue
        ok = True
        named = re.findall(r'\bheader\s+"([^"]+)"', text)
        if not any(os.path.basename(h) == FFI_HEADER for h in named):
            problems.append(f"{label}: {mm_rel} declares module {FFI_MODULE} but names no {FFI_HEADER} "
                            f"(headers named: {', '.join(named) or 'none'})")
        for h in named:
            if not os.path.isfile(os.path.join(os.path.dirname(mm), h)):
                problems.append(f"{label}: {mm_rel} names header {h!r}, which is not beside it")
        info["modulemap"] = mm_rel
    if not ok:
        problems.append(f"{label}: no module.modulemap declares `module {FFI_MODULE}`")
    return info


def _typed(entry: dict, key: str, typ: type, label: str, problems: list[str], optional: bool = False) -> Any:
    v = entry.get(key)
    if v is None:
        if not optional:
            problems.append(f"{label}: no {key}")
        return None
    if not isinstance(v, typ):
        problems.append(f"{label}: {key} is a {type(v).__name__}, not a {typ.__name__}")
        return None
    return v


def check_xcframework(path: str, slices: list[str] | None, symbols: list[str], forbid: list[str]) -> dict:
    """Info.plist as Xcode reads it, every slice's headers and library, and the slices an app needs."""
    problems: list[str] = []
    report: dict[str, Any] = {"kind": "xcframework", "path": path, "problems": problems, "slices": []}
    total = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            try:
                total += os.path.getsize(os.path.join(root, n))
            except OSError:
                pass
    report["size_bytes"] = total
    plist_path = os.path.join(path, "Info.plist")
    try:
        if os.path.getsize(plist_path) > MAX_SMALL_FILE:
            raise ValueError("larger than the cap")
        with open(plist_path, "rb") as f:
            plist = plistlib.load(f)
    except FileNotFoundError:
        problems.append("Info.plist is missing")
        return report
    except Exception as e:  # plistlib raises many kinds (InvalidFileException, ExpatError, ValueError...)
        problems.append(f"Info.plist is not a readable plist: {type(e).__name__}: {e}")
        return report
    if not isinstance(plist, dict):
        problems.append("Info.plist: top level is not a dictionary")
        return report
    if plist.get("CFBundlePackageType") != "XFWK":
        problems.append(f"Info.plist: CFBundlePackageType is {plist.get('CFBundlePackageType')!r}, "
                        "not 'XFWK'")
    if not isinstance(plist.get("XCFrameworkFormatVersion"), str):
        problems.append("Info.plist: no XCFrameworkFormatVersion string")
    report["format_version"] = plist.get("XCFrameworkFormatVersion")
    libs = plist.get("AvailableLibraries")
    if not isinstance(libs, list) or not libs:
        problems.append("Info.plist: AvailableLibraries is missing, empty or not an array")
        libs = []
    seen: list[dict] = []
    for n, entry in enumerate(libs):
        label = f"AvailableLibraries[{n}]"
        if not isinstance(entry, dict):
            problems.append(f"{label}: not a dictionary")
            continue
        ident = _typed(entry, "LibraryIdentifier", str, label, problems)
        if ident is not None:
            label = ident
        lib_path = _typed(entry, "LibraryPath", str, label, problems)
        platform = _typed(entry, "SupportedPlatform", str, label, problems)
        archs = _typed(entry, "SupportedArchitectures", list, label, problems)
        variant = _typed(entry, "SupportedPlatformVariant", str, label, problems, optional=True)
        headers = _typed(entry, "HeadersPath", str, label, problems, optional=True)
        if archs is not None and (not archs or not all(isinstance(a, str) for a in archs)):
            problems.append(f"{label}: SupportedArchitectures must be a non-empty array of strings")
            archs = None
        row: dict[str, Any] = {"identifier": ident, "platform": platform, "variant": variant,
                               "archs": archs, "library_path": lib_path}
        report["slices"].append(row)
        seen.append(row)
        if None in (ident, lib_path, platform, archs):
            continue
        bad_paths = [p for p in (ident, lib_path, headers) if p is not None and not safe_relative(p)]
        if "/" in ident or bad_paths:
            problems.append(f"{label}: unsafe path(s) in the plist: {', '.join(bad_paths or [ident])}")
            continue
        unknown = [a for a in archs if a not in CPU_TYPES]
        if unknown:
            problems.append(f"{label}: unknown architecture(s) {', '.join(unknown)}")
        want_platform = SLICE_PLATFORMS.get((platform, variant))
        if want_platform is None:
            problems.append(f"{label}: unknown platform {platform!r} variant {variant!r}")
            continue
        slice_dir = os.path.join(path, ident)
        if not os.path.isdir(slice_dir):
            problems.append(f"{label}: slice directory {ident}/ is missing")
            continue
        row["headers"] = check_headers(slice_dir, headers, label, problems)
        lib_file = os.path.join(slice_dir, lib_path)
        if os.path.isdir(lib_file):
            problems.append(f"{label}: {lib_path} is a directory (framework slices are not what this SDK "
                            f"ships; expected a static library)")
            continue
        if not os.path.isfile(lib_file):
            problems.append(f"{label}: library {ident}/{lib_path} is missing")
            continue
        row.update(check_static_library(lib_file, f"{ident}/{lib_path}", archs, want_platform,
                                        symbols, forbid, problems))

    ids = Counter(r["identifier"] for r in seen if r["identifier"])
    for ident, n in ids.items():
        if n > 1:
            problems.append(f"Info.plist: LibraryIdentifier {ident} appears {n} times")
    if slices:
        for want in slices:
            if want not in ids:
                have = ", ".join(sorted(ids)) or "none"
                problems.append(f"required slice {want} is missing (have: {have})")
    else:
        if not any(r["platform"] == "ios" and r["variant"] is None and r["archs"] and "arm64" in r["archs"]
                   for r in seen):
            problems.append("no iOS device slice (platform ios, no variant, arm64)")
        if not any(r["platform"] == "ios" and r["variant"] == "simulator" for r in seen):
            problems.append("no iOS simulator slice (platform ios, variant simulator)")
    return report


# ---------------------------------------------------------------------------------------------------
# Output


def _aligns(aligns: list[int]) -> str:
    if not aligns:
        return "-"
    c = Counter(aligns)
    return ",".join(f"{a:#x}" + (f" x{n}" if n > 1 else "") for a, n in sorted(c.items()))


def _relocations(r: dict) -> str:
    rel = r.get("relocations")
    if not rel:
        return "-"
    if rel["relr"]:
        return "RELR"
    if rel["android_packed_bytes"]:
        plain = f" + {rel['plain_entries']} plain" if rel["plain_entries"] else ""
        return f"packed {rel['android_packed_bytes']} B{plain}"
    return f"{rel['plain_entries']} plain"


def _symbols(row: dict) -> str:
    syms = row.get("symbols") or {}
    return (f"{sum(syms.values())}/{len(syms)} required, {len(row.get('forbidden_found') or [])} forbidden, "
            f"{row.get('uniffi_exports', 0)} uniffi_")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = ["  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return out


def render_text(report: dict) -> str:
    """A compact table of what was checked, then every problem."""
    kind = report["kind"]
    size = report.get("size_bytes") or 0
    lines = [f"{kind.upper()} {report['path']}  {size} bytes ({mb(size)} MB)"]
    if kind == "aar":
        m = report.get("manifest") or {}
        lines.append(f"  manifest: package={m.get('package', '?')} "
                     f"minSdkVersion={m.get('minSdkVersion', '?')}")
        c = report.get("classes_jar") or {}
        lines.append("  classes.jar: " + f"{c.get('classes', '?')} classes ("
                     + ", ".join(f"{p}: {c.get(p, 0)}" for p in CLASS_PACKAGES) + ")")
        p = report.get("proguard") or {}
        lines.append(f"  proguard.txt: {p.get('keep_rules', 0)} -keep rules ("
                     + ", ".join(f"{k}: {'yes' if p.get(k) else 'no'}" for k in PROGUARD_KEEPS) + ")")
        lines.append(f"  jni ABIs: {', '.join(report.get('jni_abis', [])) or 'none'}")
    if kind in ("aar", "so"):
        rows = []
        for r in report["libraries"]:
            bits = f"{r['machine_name']} ELF{r['elf_class']}" if "machine" in r else "unreadable"
            rows.append([r["abi"], r["file"], str(r["size_bytes"]), mb(r["size_bytes"]), bits,
                         _aligns(r.get("load_aligns", [])), r.get("soname") or "-",
                         ",".join(r.get("needed", [])) or "-", _relocations(r), _symbols(r)])
        lines += _table(["ABI", "file", "bytes", "MB", "machine", "LOAD p_align", "SONAME", "NEEDED",
                         "relocations", "symbols"], rows)
    else:
        lines.append(f"  XCFrameworkFormatVersion: {report.get('format_version')}")
        rows = []
        for r in report["slices"]:
            plat = f"{r.get('platform')}" + (f"-{r['variant']}" if r.get("variant") else "")
            rows.append([str(r.get("identifier")), plat, ",".join(r.get("archs") or []),
                         str(r.get("library_path")), str(r.get("size_bytes", "-")),
                         mb(r["size_bytes"]) if "size_bytes" in r else "-",
                         f"{r.get('macho_members', '-')}/{r.get('members', '-')}",
                         ",".join(r.get("cputypes", [])) or "-", ",".join(r.get("platforms", [])) or "-",
                         ",".join(r.get("minos", [])) or "-", _symbols(r) if "symbols" in r else "-"])
        lines += _table(["slice", "platform", "archs", "library", "bytes", "MB", "Mach-O/members",
                         "cputype", "LC platform", "minos", "symbols"], rows)
    problems = report["problems"]
    if problems:
        lines.append(f"FAIL: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        lines += [f"  - {p}" for p in problems]
    else:
        lines.append("OK: every check holds")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Command line


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="check-artifacts.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)

    def symbol_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--symbol", action="extend", nargs="+", metavar="NAME",
                        help="symbol that must be exported (repeatable; default: "
                             f"{' '.join(DEFAULT_SYMBOLS)})")
        sp.add_argument("--forbid-prefix", action="extend", nargs="+", metavar="PREFIX",
                        help=f"no exported symbol may start with it (default: {' '.join(DEFAULT_FORBID)}; "
                             "'' forbids nothing)")
        sp.add_argument("--json", action="store_true", help="print a machine-readable report")

    def elf_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--page-size", type=int, default=DEFAULT_PAGE,
                        help=f"LOAD alignment required (default {DEFAULT_PAGE}, Android 15's 16 KB pages)")
        sp.add_argument("--allowed-needed", default=",".join(DEFAULT_NEEDED),
                        help=f"comma-separated DT_NEEDED allowed (default {','.join(DEFAULT_NEEDED)})")
        symbol_opts(sp)

    a = sub.add_parser("aar", help="an Android library (AAR)")
    a.add_argument("path")
    a.add_argument("--abis", default=",".join(DEFAULT_ABIS),
                   help=f"comma-separated ABIs the AAR must hold, exactly (default {','.join(DEFAULT_ABIS)})")
    elf_opts(a)
    x = sub.add_parser("xcframework", help="an iOS XCFramework of static libraries")
    x.add_argument("path")
    x.add_argument("--slices", help="comma-separated LibraryIdentifiers required (default: one iOS device "
                                    "slice with arm64 and one iOS simulator slice)")
    symbol_opts(x)
    s = sub.add_parser("so", help="one Android shared library")
    s.add_argument("path")
    s.add_argument("--abi", required=True, choices=sorted(ABI_MACHINE))
    elf_opts(s)
    return p


def run(argv: list[str]) -> tuple[int, str]:
    """Parses argv and checks the artifact: (exit status, output). Raises SystemExit(2) on usage errors."""
    parser = build_parser()
    args = parser.parse_args(argv)
    symbols = args.symbol if args.symbol is not None else list(DEFAULT_SYMBOLS)
    forbid = [f for f in (args.forbid_prefix if args.forbid_prefix is not None else DEFAULT_FORBID) if f]
    if args.kind == "xcframework":
        if not os.path.isdir(args.path):
            parser.error(f"{args.path}: not a directory")
    elif not os.path.isfile(args.path):
        parser.error(f"{args.path}: not a file")
    if args.kind in ("aar", "so"):
        if args.page_size <= 0 or args.page_size & (args.page_size - 1):
            parser.error(f"--page-size {args.page_size} is not a power of two")
        opts = ElfOptions(args.page_size, symbols, forbid, _csv(args.allowed_needed))
    try:
        if args.kind == "aar":
            abis = _csv(args.abis)
            unknown = [a for a in abis if a not in ABI_MACHINE]
            if unknown or not abis:
                parser.error(f"--abis: unknown ABI(s) {', '.join(unknown) or '(none given)'}; "
                             f"known: {', '.join(ABI_MACHINE)}")
            report = check_aar(args.path, abis, opts)
        elif args.kind == "so":
            report = check_so(args.path, args.abi, opts)
        else:
            report = check_xcframework(args.path, _csv(args.slices) if args.slices else None, symbols, forbid)
    except OSError as e:
        report = {"kind": args.kind, "path": args.path, "size_bytes": 0, "libraries": [], "slices": [],
                  "problems": [f"{args.path}: cannot be read: {e}"]}
    except Exception as e:  # last resort: a bug here must still be a problem line, not a traceback
        report = {"kind": args.kind, "path": args.path, "size_bytes": 0, "libraries": [], "slices": [],
                  "problems": [f"internal error while checking {args.path}: {type(e).__name__}: {e}"]}
    report["ok"] = not report["problems"]
    out = json.dumps(report, indent=2, default=sorted) if args.json else render_text(report)
    return (0 if report["ok"] else 1), out


def main(argv: list[str] | None = None) -> int:
    code, out = run(sys.argv[1:] if argv is None else argv)
    print(out)
    return code


if __name__ == "__main__":
    sys.exit(main())
