#!/usr/bin/env python3
"""Unit tests of scripts/check-artifacts.py, on synthetic artifacts built here with Python alone.

The builders write the smallest files the checker must accept (ELF shared objects of both classes,
Mach-O objects inside BSD or GNU ar archives, universal files, AARs, XCFrameworks), and each test
breaks one thing to see it reported. Run: python3 scripts/test_check_artifacts.py
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import plistlib
import random
import struct
import subprocess
import sys
import tempfile
import unittest
import warnings
import zipfile
from contextlib import redirect_stderr
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_artifacts", os.path.join(HERE, "check-artifacts.py"))
ca = importlib.util.module_from_spec(_spec)
sys.modules["check_artifacts"] = ca
_spec.loader.exec_module(ca)

GOOD_SYMBOLS = ["uniffi_smartid_ffi_fn_constructor_capturesession_new",
                "ffi_smartid_ffi_uniffi_contract_version",
                "uniffi_smartid_ffi_fn_method_capturesession_run"]
ABIS = {"arm64-v8a": (183, 64), "armeabi-v7a": (40, 32), "x86_64": (62, 64), "x86": (3, 32)}

# ---------------------------------------------------------------------------------------------------
# ELF builder


@dataclass
class Sym:
    name: str
    bind: int = 1       # STB_GLOBAL
    type: int = 2       # STT_FUNC
    vis: int = 0        # STV_DEFAULT
    defined: bool = True


@dataclass
class ElfSpec:
    bits: int = 64
    machine: int = 183
    etype: int = 3
    align: int = 0x4000
    skew: int = 0                      # added to the second LOAD's vaddr (breaks offset == vaddr mod page)
    soname: str | None = "libsmartid_ffi.so"
    needed: list[str] = field(default_factory=lambda: ["libc.so", "libm.so", "libdl.so", "liblog.so"])
    symbols: list[Sym] = field(default_factory=lambda: [Sym(s) for s in GOOD_SYMBOLS])
    gnu_stack: int | None = 6           # PF_R|PF_W; None leaves it out
    textrel: bool = False
    df_textrel: bool = False
    sections: bool = True
    hash: str = "sysv"                  # or "gnu"
    dyn_extra: list[tuple[int, int]] = field(default_factory=list)  # more (tag, value) dynamic entries


def build_elf(spec: ElfSpec) -> bytes:
    """A minimal little-endian ET_DYN: two LOADs, DYNAMIC, GNU_STACK, .dynsym/.dynstr/.dynamic/hash."""
    is64 = spec.bits == 64
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    sym_size, word = (24, 8) if is64 else (16, 4)
    nph = 3 + (spec.gnu_stack is not None)
    off = (ehsize + nph * phentsize + 7) & ~7

    strtab = bytearray(b"\0")

    def add_str(s: str) -> int:
        i = len(strtab)
        strtab.extend(s.encode() + b"\0")
        return i

    needed_idx = [add_str(n) for n in spec.needed]
    soname_idx = add_str(spec.soname) if spec.soname is not None else None
    text_index = 5  # section index of .text, used as st_shndx of defined symbols
    syms = bytearray(sym_size)  # the null symbol
    for s in spec.symbols:
        name = add_str(s.name)
        info, other, shndx = (s.bind << 4) | s.type, s.vis, text_index if s.defined else 0
        if is64:
            syms += struct.pack("<IBBHQQ", name, info, other, shndx, 0x1000 if s.defined else 0, 4)
        else:
            syms += struct.pack("<IIIBBH", name, 0x1000 if s.defined else 0, 4, info, other, shndx)
    nsyms = 1 + len(spec.symbols)

    if spec.hash == "sysv":
        hashtab = struct.pack("<II", 1, nsyms) + struct.pack("<I", 0) + b"\0" * 4 * nsyms
    else:
        chain = [0] * (nsyms - 1)
        if chain:
            chain[-1] = 1
        hashtab = (struct.pack("<IIII", 1, 1, 1, 0) + b"\0" * word
                   + struct.pack("<I", 1 if nsyms > 1 else 0) + struct.pack(f"<{len(chain)}I", *chain))

    dynstr_off = off
    dynsym_off = (dynstr_off + len(strtab) + 7) & ~7
    hash_off = (dynsym_off + len(syms) + 7) & ~7
    dyn_off = (hash_off + len(hashtab) + 7) & ~7
    entries = [(1, i) for i in needed_idx]
    if soname_idx is not None:
        entries.append((14, soname_idx))
    entries += [(5, dynstr_off), (10, len(strtab)), (6, dynsym_off), (11, sym_size),
                (4 if spec.hash == "sysv" else 0x6FFFFEF5, hash_off)]
    if spec.textrel:
        entries.append((22, 0))
    if spec.df_textrel:
        entries.append((30, 0x4))
    entries += spec.dyn_extra
    entries.append((0, 0))
    dyn = b"".join(struct.pack("<qQ" if is64 else "<iI", t, v) for t, v in entries)
    text_off = dyn_off + len(dyn)
    text = b"\xc3" * 16
    shstr = b"\0.dynstr\0.dynsym\0.hash\0.dynamic\0.text\0.shstrtab\0"
    shstr_off = text_off + len(text)
    end_of_data = shstr_off + len(shstr)
    sh_off = (end_of_data + 7) & ~7

    def name_at(n: str) -> int:
        return shstr.index(b"\0" + n.encode() + b"\0") + 1

    # Sections: 0 null, 1 .dynstr, 2 .dynsym (link 1), 3 .hash, 4 .dynamic (link 1), 5 .text, 6 .shstrtab
    sects = [(0, 0, 0, 0, 0, 0, 0, 0),
             (name_at(".dynstr"), 3, dynstr_off, len(strtab), 0, 0, 1, 0),
             (name_at(".dynsym"), 11, dynsym_off, len(syms), 1, 1, word, sym_size),
             (name_at(".hash"), 5 if spec.hash == "sysv" else 0x6FFFFFF6, hash_off, len(hashtab), 2, 0, word,
              4),
             (name_at(".dynamic"), 6, dyn_off, len(dyn), 1, 0, word, len(dyn) // len(entries)),
             (name_at(".text"), 1, text_off, len(text), 0, 0, 16, 0),
             (name_at(".shstrtab"), 3, shstr_off, len(shstr), 0, 0, 1, 0)]
    shdrs = b""
    for name, typ, o, size, link, info, align, entsize in sects:
        if is64:
            shdrs += struct.pack("<IIQQQQIIQQ", name, typ, 0, o, o, size, link, info, align, entsize)
        else:
            shdrs += struct.pack("<IIIIIIIIII", name, typ, 0, o, o, size, link, info, align, entsize)
    shnum = len(sects) if spec.sections else 0
    file_end = sh_off + len(shdrs) if spec.sections else end_of_data

    def ph(ptype: int, flags: int, o: int, vaddr: int, size: int, align: int) -> bytes:
        if is64:
            return struct.pack("<IIQQQQQQ", ptype, flags, o, vaddr, vaddr, size, size, align)
        return struct.pack("<IIIIIIII", ptype, o, vaddr, vaddr, size, size, flags, align)

    second = 0x100000 + dyn_off + spec.skew
    phdrs = (ph(1, 5, 0, 0, end_of_data, spec.align)
             + ph(1, 6, dyn_off, second, len(dyn), spec.align)
             + ph(2, 6, dyn_off, dyn_off, len(dyn), word))
    if spec.gnu_stack is not None:
        phdrs += ph(0x6474E551, spec.gnu_stack, 0, 0, 0, 0)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1]) + b"\0" * 9
    if is64:
        ehdr = ident + struct.pack("<HHIQQQIHHHHHH", spec.etype, spec.machine, 1, 0, ehsize,
                                   sh_off if spec.sections else 0, 0, ehsize, phentsize, nph, shentsize,
                                   shnum, 6 if spec.sections else 0)
    else:
        ehdr = ident + struct.pack("<HHIIIIIHHHHHH", spec.etype, spec.machine, 1, 0, ehsize,
                                   sh_off if spec.sections else 0, 0, ehsize, phentsize, nph, shentsize,
                                   shnum, 6 if spec.sections else 0)
    out = bytearray(file_end)
    out[0:len(ehdr)] = ehdr
    out[ehsize:ehsize + len(phdrs)] = phdrs
    for o, data in ((dynstr_off, strtab), (dynsym_off, syms), (hash_off, hashtab), (dyn_off, dyn),
                    (text_off, text), (shstr_off, shstr)):
        out[o:o + len(data)] = data
    if spec.sections:
        out[sh_off:sh_off + len(shdrs)] = shdrs
    return bytes(out)


def elf_for(abi: str, **kw) -> bytes:
    machine, bits = ABIS[abi]
    return build_elf(ElfSpec(machine=machine, bits=bits, **kw))

# ---------------------------------------------------------------------------------------------------
# Mach-O, ar and universal builders

ARM64, X86_64 = 0x0100000C, 0x01000007
EXT_DEFINED, UNDEFINED, PRIVATE_EXT = 0x0F, 0x01, 0x1F


def build_macho(cputype: int = ARM64, platform: int = 2, minos: int = 0x000D0000,
                symbols: list[tuple[str, int]] | None = None, version_min: bool = False) -> bytes:
    """An MH_OBJECT with LC_BUILD_VERSION (or LC_VERSION_MIN_IPHONEOS) and LC_SYMTAB; C names get a `_`."""
    if symbols is None:
        symbols = [(s, EXT_DEFINED) for s in GOOD_SYMBOLS] + [("memcpy", UNDEFINED), ("local_helper", 0x0E)]
    if version_min:
        version_cmd = struct.pack("<IIII", 0x25, 16, minos, minos)
    else:
        version_cmd = struct.pack("<IIIIII", 0x32, 24, platform, minos, minos, 0)
    sizeofcmds = len(version_cmd) + 24
    symoff = 32 + sizeofcmds
    strtab = bytearray(b"\0")
    nlist = b""
    for name, ntype in symbols:
        idx = len(strtab)
        strtab += b"_" + name.encode() + b"\0"
        nlist += struct.pack("<IBBHQ", idx, ntype, 1 if ntype & 0x0E == 0x0E else 0, 0, 0)
    stroff = symoff + len(nlist)
    symtab_cmd = struct.pack("<IIIIII", 0x2, 24, symoff, len(symbols), stroff, len(strtab))
    header = struct.pack("<IIIIIIII", 0xFEEDFACF, cputype, 0, 1, 2, sizeofcmds, 0, 0)
    return header + version_cmd + symtab_cmd + nlist + bytes(strtab)


def _ar_header(name: str, size: int) -> bytes:
    h = (name.ljust(16) + "0".ljust(12) + "0".ljust(6) + "0".ljust(6) + "644".ljust(8)
         + str(size).ljust(10) + "`\n").encode()
    assert len(h) == 60
    return h


def build_ar_bsd(members: list[tuple[str, bytes]], symdef: bool = True) -> bytes:
    """BSD ar as LLVM writes for Apple targets: every name as `#1/NN` before the data."""
    out = bytearray(b"!<arch>\n")
    if symdef:
        members = [("__.SYMDEF", struct.pack("<I", 0) + struct.pack("<I", 0))] + members
    for name, data in members:
        nb = name.encode() + b"\0"
        nb += b"\0" * (-len(nb) % 8)
        out += _ar_header(f"#1/{len(nb)}", len(nb) + len(data)) + nb + data
        if len(out) % 2:
            out += b"\n"
    return bytes(out)


def build_ar_gnu(members: list[tuple[str, bytes]]) -> bytes:
    """GNU ar: a `/` symbol table, a `//` long-name table, `/N` references for names over 15 characters."""
    out = bytearray(b"!<arch>\n")
    table = b""
    refs = {}
    for name, _ in members:
        if len(name) > 15:
            refs[name] = len(table)
            table += name.encode() + b"/\n"
    for name, data in [("/", b"\0\0\0\0")] + ([("//", table)] if table else []):
        out += _ar_header(name, len(data)) + data
        if len(out) % 2:
            out += b"\n"
    for name, data in members:
        hname = f"/{refs[name]}" if name in refs else name + "/"
        out += _ar_header(hname, len(data)) + data
        if len(out) % 2:
            out += b"\n"
    return bytes(out)


def build_fat(slices: list[tuple[int, bytes]]) -> bytes:
    """A universal file (lipo) holding one archive per architecture, big-endian header."""
    out = bytearray(struct.pack(">II", 0xCAFEBABE, len(slices)))
    off = 8 + 20 * len(slices)
    off = (off + 4095) & ~4095
    body = bytearray()
    for cpu, data in slices:
        out += struct.pack(">IIIII", cpu, 0, off + len(body), len(data), 12)
        body += data
        body += b"\0" * (-len(body) % 4096)
    out += b"\0" * (off - len(out))
    return bytes(out + body)


def ios_archive(cputype: int = ARM64, platform: int = 2, **kw) -> bytes:
    objs = [("smartid_ffi-1a2b.smartid_ffi.3c4d-cgu.0.rcgu.o", build_macho(cputype, platform, **kw)),
            ("compiler_builtins-5e6f.compiler_builtins.7a8b-cgu.001.rcgu.o",
             build_macho(cputype, platform, symbols=[("__udivti3", EXT_DEFINED)]))]
    return build_ar_bsd(objs)

# ---------------------------------------------------------------------------------------------------
# AAR and XCFramework builders

MANIFEST = (b'<?xml version="1.0" encoding="utf-8"?>\n'
            b'<manifest xmlns:android="http://schemas.android.com/apk/res/android"\n'
            b'          package="com.smartid.sdk">\n'
            b'  <uses-sdk android:minSdkVersion="23" />\n</manifest>\n')
PROGUARD = (b"# JNA calls these by reflection\n"
            b"-keep class com.sun.jna.** { *; }\n"
            b"-keepclassmembers class * extends com.sun.jna.** {\n  public *;\n}\n"
            b"-keep class com.smartid.** { *; }\n")


def classes_jar(packages: tuple[str, ...] = ("com/smartid/sdk/", "com/smartid/ffi/")) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for i, p in enumerate(packages):
            z.writestr(f"{p}C{i}.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34")
    return buf.getvalue()


def build_aar(path: str, abis: tuple[str, ...] = ("arm64-v8a", "armeabi-v7a", "x86_64"),
              libs: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None,
              omit: tuple[str, ...] = (), extra: list[tuple[str, bytes]] | None = None) -> str:
    entries: dict[str, bytes] = {"AndroidManifest.xml": MANIFEST, "classes.jar": classes_jar(), "R.txt": b"",
                                 "proguard.txt": PROGUARD}
    for abi in abis:
        entries[f"jni/{abi}/libsmartid_ffi.so"] = (libs or {}).get(abi) or elf_for(abi)
    entries.update(replace or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on the duplicate names some tests write
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries.items():
                if name not in omit:
                    z.writestr(name, data)
            for name, data in extra or []:
                z.writestr(zipfile.ZipInfo(name), data)
    return path


MODULEMAP = 'module smartid_ffiFFI {\n    header "smartid_ffiFFI.h"\n    export *\n}\n'


@dataclass
class Slice:
    ident: str
    platform: str = "ios"
    variant: str | None = None
    archs: list[str] = field(default_factory=lambda: ["arm64"])
    library: bytes | None = None
    header: bool = True
    modulemap: str | None = MODULEMAP
    modulemap_name: str = "module.modulemap"


def device_slice(**kw) -> Slice:
    return Slice("ios-arm64", **kw)


def sim_slice(**kw) -> Slice:
    kw.setdefault("library", ios_archive(ARM64, 7))
    return Slice("ios-arm64-simulator", variant="simulator", **kw)


def build_xcf(root: str, slices: list[Slice], fmt: plistlib.PlistFormat = plistlib.FMT_XML,
              plist: dict | None = None) -> str:
    path = os.path.join(root, "SmartIdFFI.xcframework")
    os.makedirs(path)
    libs = []
    for s in slices:
        d = os.path.join(path, s.ident)
        os.makedirs(os.path.join(d, "Headers"))
        with open(os.path.join(d, "libsmartid_ffi.a"), "wb") as f:
            f.write(s.library if s.library is not None else ios_archive())
        if s.header:
            with open(os.path.join(d, "Headers", "smartid_ffiFFI.h"), "w") as f:
                f.write("#pragma once\nvoid* uniffi_smartid_ffi_fn_constructor_capturesession_new(void);\n")
        if s.modulemap is not None:
            with open(os.path.join(d, "Headers", s.modulemap_name), "w") as f:
                f.write(s.modulemap)
        e = {"LibraryIdentifier": s.ident, "LibraryPath": "libsmartid_ffi.a", "HeadersPath": "Headers",
             "SupportedPlatform": s.platform, "SupportedArchitectures": s.archs}
        if s.variant:
            e["SupportedPlatformVariant"] = s.variant
        libs.append(e)
    doc = plist if plist is not None else {"AvailableLibraries": libs, "CFBundlePackageType": "XFWK",
                                           "XCFrameworkFormatVersion": "1.0"}
    with open(os.path.join(path, "Info.plist"), "wb") as f:
        plistlib.dump(doc, f, fmt=fmt)
    return path

# ---------------------------------------------------------------------------------------------------
# Tests


def run_cli(*argv: str) -> tuple[int, str]:
    return ca.run(list(argv))


def problems_of(*argv: str) -> list[str]:
    code, out = run_cli(*argv, "--json")
    report = json.loads(out)
    assert (code == 0) == report["ok"] == (not report["problems"]), (code, report["problems"])
    return report["problems"]


class TmpCase(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def file(self, name: str, data: bytes) -> str:
        p = os.path.join(self.tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def assertProblem(self, problems: list[str], *fragments: str) -> None:
        for frag in fragments:
            self.assertTrue(any(frag in p for p in problems), f"no problem mentions {frag!r}: {problems}")
        for p in problems:
            self.assertNotIn("internal error", p)


class ElfTests(TmpCase):
    def check(self, data: bytes, abi: str = "arm64-v8a", **opts) -> list[str]:
        problems: list[str] = []
        o = ca.ElfOptions(opts.get("page", 16384), opts.get("symbols", list(ca.DEFAULT_SYMBOLS)),
                          opts.get("forbid", list(ca.DEFAULT_FORBID)), list(ca.DEFAULT_NEEDED))
        ca.check_elf(ca.Blob(data), "jni/x/libsmartid_ffi.so", abi, o, problems)
        return problems

    def test_good_libraries_of_every_abi_pass(self) -> None:
        for abi in ABIS:
            with self.subTest(abi=abi):
                self.assertEqual(self.check(elf_for(abi), abi), [])

    def test_parse_reads_both_classes(self) -> None:
        for bits, machine in ((64, 183), (32, 40)):
            elf = ca.parse_elf(ca.Blob(build_elf(ElfSpec(bits=bits, machine=machine, needed=["liblog.so"]))))
            self.assertEqual((elf.bits, elf.machine, elf.etype), (bits, machine, 3))
            self.assertEqual(elf.soname, "libsmartid_ffi.so")
            self.assertEqual(elf.needed, ["liblog.so"])
            self.assertEqual(elf.func_exports, set(GOOD_SYMBOLS))
            self.assertEqual([ld.align for ld in elf.loads], [0x4000, 0x4000])
            self.assertEqual(elf.symbols_from, ".dynsym section")

    def test_symbols_without_section_headers_via_hash_tables(self) -> None:
        for h, source in (("sysv", "DT_HASH"), ("gnu", "DT_GNU_HASH")):
            for bits in (64, 32):
                with self.subTest(hash=h, bits=bits):
                    elf = ca.parse_elf(ca.Blob(build_elf(ElfSpec(bits=bits, sections=False, hash=h))))
                    self.assertIn(source, elf.symbols_from)
                    self.assertEqual(elf.func_exports, set(GOOD_SYMBOLS))
                    self.assertEqual(elf.errors, [])

    def test_4k_alignment_reported(self) -> None:
        self.assertProblem(self.check(elf_for("arm64-v8a", align=0x1000)),
                           "p_align 0x1000 < page size 0x4000")
        self.assertEqual(self.check(elf_for("arm64-v8a", align=0x1000), page=4096), [])

    def test_offset_vaddr_congruence(self) -> None:
        self.assertProblem(self.check(elf_for("arm64-v8a", skew=0x1000)), "differ modulo the page size")

    def test_wrong_machine_and_class(self) -> None:
        self.assertProblem(self.check(elf_for("x86_64"), "arm64-v8a"), "e_machine 62 (x86-64)")
        self.assertProblem(self.check(build_elf(ElfSpec(bits=32, machine=183))),
                           "ELF32 but arm64-v8a needs ELF64")

    def test_not_a_shared_object(self) -> None:
        self.assertProblem(self.check(elf_for("arm64-v8a", etype=2)), "not ET_DYN")

    def test_stack_textrel_soname(self) -> None:
        self.assertProblem(self.check(elf_for("arm64-v8a", gnu_stack=7)), "PT_GNU_STACK is executable")
        self.assertProblem(self.check(elf_for("arm64-v8a", gnu_stack=None)), "no PT_GNU_STACK")
        self.assertProblem(self.check(elf_for("arm64-v8a", textrel=True)), "text relocations")
        self.assertProblem(self.check(elf_for("arm64-v8a", df_textrel=True)), "text relocations")
        self.assertProblem(self.check(elf_for("arm64-v8a", soname=None)), "DT_SONAME None")
        self.assertProblem(self.check(elf_for("arm64-v8a", soname="libother.so")), "DT_SONAME 'libother.so'")

    def test_relocations_must_be_packed_the_way_api_23_loads(self) -> None:
        # DT_RELA/DT_RELASZ (64-bit: 24 bytes an entry), DT_REL/DT_RELSZ (32-bit ARM: 8 bytes).
        plain64 = [(7, 0x1000), (8, 16_000 * 24)]
        plain32 = [(17, 0x1000), (18, 16_000 * 8)]
        packed = [(0x60000011, 0x1000), (0x60000012, 52_067)]
        self.assertProblem(self.check(elf_for("arm64-v8a", dyn_extra=plain64)),
                           "16000 dynamic relocations in a plain table", "--pack-dyn-relocs=android")
        self.assertProblem(self.check(elf_for("armeabi-v7a", dyn_extra=plain32), "armeabi-v7a"),
                           "16000 dynamic relocations in a plain table")
        self.assertEqual(self.check(elf_for("arm64-v8a", dyn_extra=packed)), [])
        # A few plain ones beside the packed table (or in a tiny library) are fine.
        self.assertEqual(self.check(elf_for("arm64-v8a", dyn_extra=packed + [(7, 0x2000), (8, 10 * 24)])), [])
        # RELR loads from API 28 only: not for minSdk 23, whichever tag carries it.
        for tag in (36, 0x6FFFE000):
            with self.subTest(tag=hex(tag)):
                self.assertProblem(self.check(elf_for("arm64-v8a", dyn_extra=packed + [(tag, 0x3000)])),
                                   "RELR relocations", "API 28")
        elf = ca.parse_elf(ca.Blob(elf_for("arm64-v8a", dyn_extra=packed)))
        self.assertEqual((elf.plain_relocations, elf.packed_relocation_bytes, elf.relr), (0, 52_067, False))

    def test_only_visible_defined_functions_count_as_exports(self) -> None:
        name = "uniffi_smartid_ffi_fn_constructor_capturesession_new"
        for sym in (Sym(name, vis=2), Sym(name, defined=False), Sym(name, type=1), Sym(name, bind=0)):
            with self.subTest(sym=sym):
                syms = [Sym("ffi_smartid_ffi_uniffi_contract_version"), sym]
                self.assertProblem(self.check(elf_for("arm64-v8a", symbols=syms)),
                                   f"does not export the function {name}")
        weak = [Sym("ffi_smartid_ffi_uniffi_contract_version"), Sym(name, bind=2)]
        self.assertEqual(self.check(elf_for("arm64-v8a", symbols=weak)), [])

    def test_every_problem_is_listed_not_just_the_first(self) -> None:
        data = build_elf(ElfSpec(machine=62, align=0x1000, needed=["libc++_shared.so"], gnu_stack=7,
                                 symbols=[Sym("uniffi_smartid_ffi_fn_func_testing_reset")]))
        problems = self.check(data)
        self.assertProblem(problems, "e_machine 62", "p_align 0x1000", "libc++_shared.so", "executable",
                           "capturesession_new", "contract_version", "forbidden")
        self.assertGreaterEqual(len(problems), 8)

    def test_truncated_and_corrupted_elf_never_raise(self) -> None:
        good = elf_for("armeabi-v7a")
        for cut in range(0, len(good)):
            problems = self.check(good[:cut], "armeabi-v7a")
            self.assertTrue(problems, f"truncated at {cut} bytes passed")
            self.assertProblem(problems)
        rng = random.Random(7)
        for _ in range(400):
            data = bytearray(elf_for("arm64-v8a", sections=bool(rng.getrandbits(1))))
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            self.assertProblem(self.check(bytes(data)))  # may or may not pass; must not raise

    def test_truncated_header_message(self) -> None:
        self.assertProblem(self.check(elf_for("arm64-v8a")[:40]), "not a readable ELF shared object")
        self.assertProblem(self.check(b"MZ" + b"\0" * 100), "no ELF magic")


class AarTests(TmpCase):
    def aar(self, **kw) -> str:
        return build_aar(os.path.join(self.tmp, "smartid.aar"), **kw)

    def test_good_aar_passes_and_json_has_sizes(self) -> None:
        path = self.aar()
        code, out = run_cli("aar", path, "--json")
        report = json.loads(out)
        self.assertEqual((code, report["problems"]), (0, []))
        self.assertEqual(report["size_bytes"], os.path.getsize(path))
        self.assertEqual([r["abi"] for r in report["libraries"]], ["arm64-v8a", "armeabi-v7a", "x86_64"])
        with zipfile.ZipFile(path) as z:
            for r in report["libraries"]:
                self.assertEqual(r["size_bytes"], z.getinfo(r["file"]).file_size)
                self.assertEqual(r["uniffi_exports"], 2)
        self.assertEqual(report["manifest"], {"package": "com.smartid.sdk", "minSdkVersion": 23})
        code, text = run_cli("aar", path)
        self.assertEqual(code, 0)
        self.assertIn("OK: every check holds", text)
        self.assertIn("armeabi-v7a", text)
        self.assertIn("ARM ELF32", text)

    def test_4k_alignment(self) -> None:
        p = problems_of("aar", self.aar(libs={"arm64-v8a": elf_for("arm64-v8a", align=0x1000)}))
        self.assertProblem(p, "jni/arm64-v8a/libsmartid_ffi.so: LOAD[0] p_align 0x1000")

    def test_wrong_machine_for_abi(self) -> None:
        p = problems_of("aar", self.aar(libs={"armeabi-v7a": elf_for("x86")}))
        self.assertProblem(p, "jni/armeabi-v7a/libsmartid_ffi.so: e_machine 3 (i386) "
                              "but armeabi-v7a needs 40")

    def test_missing_abi(self) -> None:
        p = problems_of("aar", self.aar(abis=("arm64-v8a", "armeabi-v7a")))
        self.assertProblem(p, "missing ABI x86_64")

    def test_extra_abi(self) -> None:
        p = problems_of("aar", self.aar(abis=("arm64-v8a", "armeabi-v7a", "x86_64", "x86")))
        self.assertProblem(p, "unexpected ABI directory jni/x86/")
        self.assertEqual(problems_of("aar", self.aar_again(abis=("arm64-v8a",)), "--abis", "arm64-v8a"), [])

    def aar_again(self, **kw) -> str:
        return build_aar(os.path.join(self.tmp, "again.aar"), **kw)

    def test_missing_uniffi_symbol(self) -> None:
        lib = elf_for("x86_64", symbols=[Sym("ffi_smartid_ffi_uniffi_contract_version")])
        p = problems_of("aar", self.aar(libs={"x86_64": lib}))
        self.assertProblem(p, "x86_64/libsmartid_ffi.so: does not export the function "
                              "uniffi_smartid_ffi_fn_constructor_capturesession_new")

    def test_testing_symbol_present(self) -> None:
        lib = elf_for("arm64-v8a", symbols=[Sym(s) for s in GOOD_SYMBOLS]
                      + [Sym("uniffi_smartid_ffi_fn_func_testing_fake_rasp")])
        p = problems_of("aar", self.aar(libs={"arm64-v8a": lib}))
        self.assertProblem(p, "forbidden symbol(s): uniffi_smartid_ffi_fn_func_testing_fake_rasp")
        again = self.aar_again(libs={"arm64-v8a": lib})
        self.assertEqual(problems_of("aar", again, "--forbid-prefix", ""), [])

    def test_unexpected_needed(self) -> None:
        lib = elf_for("arm64-v8a", needed=["libc.so", "libc++_shared.so"])
        p = problems_of("aar", self.aar(libs={"arm64-v8a": lib}))
        self.assertProblem(p, "DT_NEEDED 'libc++_shared.so' is not allowed")
        allowed = "libc.so,libm.so,libdl.so,liblog.so,libc++_shared.so"
        again = self.aar_again(libs={"arm64-v8a": lib})
        self.assertEqual(problems_of("aar", again, "--allowed-needed", allowed), [])

    def test_proguard_without_jna_keep(self) -> None:
        p = problems_of("aar", self.aar(replace={"proguard.txt": b"-keep class com.smartid.** { *; }\n"
                                                                 b"# -keep class com.sun.jna.** { *; }\n"
                                                                 b"-dontwarn com.sun.jna.**\n"}))
        self.assertProblem(p, "proguard.txt: no -keep rule mentions com.sun.jna")
        self.assertEqual(len(p), 1)

    def test_empty_proguard(self) -> None:
        p = problems_of("aar", self.aar(replace={"proguard.txt": b"\n"}))
        self.assertProblem(p, "proguard.txt: empty")

    def test_bad_manifest(self) -> None:
        cases = {b"<manifest package='com.smartid.sdk'><uses-sdk": "not well-formed XML",
                 b"<manifest><uses-sdk/></manifest>": "<manifest> has no package attribute",
                 b"<manifest package='com.smartid.sdk'/>": "no <uses-sdk>",
                 b"<application package='com.smartid.sdk'/>": "root element is <application>",
                 b"\x03\x00\x08\x00binary axml": "not well-formed XML"}
        for i, (manifest, frag) in enumerate(cases.items()):
            with self.subTest(frag=frag):
                path = build_aar(os.path.join(self.tmp, f"m{i}.aar"),
                                 replace={"AndroidManifest.xml": manifest})
                self.assertProblem(problems_of("aar", path), "AndroidManifest.xml: " + frag)

    def test_truncated_elf_in_aar(self) -> None:
        p = problems_of("aar", self.aar(libs={"arm64-v8a": elf_for("arm64-v8a")[:100]}))
        self.assertProblem(p, "jni/arm64-v8a/libsmartid_ffi.so: ")

    def test_path_traversal_and_absolute_entries(self) -> None:
        p = problems_of("aar", self.aar(extra=[("../../evil.sh", b"x"), ("/etc/cron.d/x", b"x"),
                                               ("res\\raw\\x", b"x")]))
        self.assertProblem(p, "'../../evil.sh': path traversal", "'/etc/cron.d/x': absolute path",
                           "backslash")

    def test_duplicate_entries(self) -> None:
        p = problems_of("aar", self.aar(extra=[("jni/arm64-v8a/libsmartid_ffi.so", elf_for("x86_64"))]))
        self.assertProblem(p, "duplicate entry 'jni/arm64-v8a/libsmartid_ffi.so' (2 times)")

    def test_missing_entries(self) -> None:
        p = problems_of("aar", self.aar(omit=("R.txt", "classes.jar", "proguard.txt")))
        self.assertProblem(p, "missing entry R.txt", "missing entry classes.jar",
                           "missing entry proguard.txt")

    def test_classes_jar_contents(self) -> None:
        p = problems_of("aar", self.aar(replace={"classes.jar": classes_jar(("com/smartid/sdk/",))}))
        self.assertProblem(p, "classes.jar: no class under com/smartid/ffi/")
        p = problems_of("aar", self.aar_again(replace={"classes.jar": b"PK\x03\x04 not really"}))
        self.assertProblem(p, "classes.jar: not a valid zip")

    def test_not_a_zip_and_truncated_zip(self) -> None:
        self.assertProblem(problems_of("aar", self.file("x.aar", b"hello")), "not a valid zip")
        with open(self.aar(), "rb") as f:
            good = f.read()
        for cut in (len(good) // 3, len(good) - 30):
            self.assertProblem(problems_of("aar", self.file(f"cut{cut}.aar", good[:cut])))

    def test_stray_jni_file(self) -> None:
        p = problems_of("aar", self.aar(extra=[("jni/libfoo.so", b"x")]))
        self.assertProblem(p, "stray file 'jni/libfoo.so'")


class ArMachOTests(TmpCase):
    def test_bsd_names_and_symdef(self) -> None:
        data = build_ar_bsd([("a_rather_long_object_name.o", b"abc"), ("b.o", b"1234")])
        members = ca.parse_ar(ca.Blob(data))
        self.assertEqual([m.name for m in members], ["__.SYMDEF", "a_rather_long_object_name.o", "b.o"])
        self.assertEqual(data[members[1].offset:members[1].offset + members[1].size], b"abc")
        self.assertEqual(data[members[2].offset:members[2].offset + members[2].size], b"1234")

    def test_gnu_long_names(self) -> None:
        data = build_ar_gnu([("short.o", b"x"), ("a_name_longer_than_fifteen.o", b"yy"),
                             ("another_long_member_name.o", b"zzz")])
        members = ca.parse_ar(ca.Blob(data))
        self.assertEqual([m.name for m in members],
                         ["/", "//", "short.o", "a_name_longer_than_fifteen.o", "another_long_member_name.o"])
        self.assertEqual(data[members[4].offset:members[4].offset + 3], b"zzz")

    def test_gnu_archive_of_macho_objects_is_checked(self) -> None:
        lib = build_ar_gnu([("smartid_ffi-0123456789.rcgu.o", build_macho())])
        path = build_xcf(self.tmp, [device_slice(library=lib), sim_slice()])
        self.assertEqual(problems_of("xcframework", path), [])

    def test_macho_parse(self) -> None:
        m = ca.parse_macho(ca.Blob(build_macho(minos=0x000C0100, symbols=[
            ("exported", EXT_DEFINED), ("undef", UNDEFINED), ("hidden", PRIVATE_EXT), ("local", 0x0E)])))
        self.assertEqual(m.cputype, ARM64)
        self.assertEqual(m.platforms, [(2, "12.1.0", False)])
        self.assertEqual(m.defined, {"exported"})
        self.assertEqual(m.defined_private, {"hidden"})
        self.assertEqual(ca.decode_version(0x00110203), "17.2.3")

    def test_truncated_ar_and_macho_never_raise(self) -> None:
        good = ios_archive()
        for cut in range(0, len(good), 7):
            problems: list[str] = []
            ca.scan_library(ca.Blob(good[:cut]), "lib.a", ["arm64"], 2, problems)
            if cut < len(good) - 1:
                self.assertTrue(problems, f"archive truncated at {cut} passed")
        obj = build_macho()
        for cut in range(0, len(obj)):
            with self.assertRaises(ca.FormatError):
                ca.parse_macho(ca.Blob(obj[:cut]))
        rng = random.Random(11)
        for _ in range(300):
            data = bytearray(good)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            ca.scan_library(ca.Blob(bytes(data)), "lib.a", ["arm64"], 2, [])


class XcframeworkTests(TmpCase):
    def test_good_xcframework_passes(self) -> None:
        path = build_xcf(self.tmp, [device_slice(), sim_slice()])
        code, out = run_cli("xcframework", path, "--json")
        report = json.loads(out)
        self.assertEqual((code, report["problems"]), (0, []))
        dev = report["slices"][0]
        self.assertEqual((dev["cputypes"], dev["platforms"], dev["minos"]), (["arm64"], ["ios"], ["13.0.0"]))
        self.assertEqual((dev["members"], dev["macho_members"], dev["skipped_members"]),
                         (3, 2, ["__.SYMDEF"]))
        lib_size = os.path.getsize(os.path.join(path, "ios-arm64", "libsmartid_ffi.a"))
        self.assertEqual(dev["size_bytes"], lib_size)
        self.assertEqual(report["slices"][1]["platforms"], ["ios-simulator"])
        self.assertEqual(dev["version_commands"], {"LC_BUILD_VERSION": 2})
        code, text = run_cli("xcframework", path)
        self.assertEqual(code, 0)
        self.assertIn("ios-arm64-simulator", text)

    def test_binary_plist_and_fat_simulator_library(self) -> None:
        fat = build_fat([(ARM64, ios_archive(ARM64, 7)), (X86_64, ios_archive(X86_64, 7))])
        sim = Slice("ios-arm64_x86_64-simulator", variant="simulator", archs=["arm64", "x86_64"], library=fat)
        path = build_xcf(self.tmp, [device_slice(), sim], fmt=plistlib.FMT_BINARY)
        self.assertEqual(problems_of("xcframework", path), [])

    def test_fat_library_missing_an_architecture(self) -> None:
        fat = build_fat([(ARM64, ios_archive(ARM64, 7))])
        sim = Slice("ios-arm64_x86_64-simulator", variant="simulator", archs=["arm64", "x86_64"], library=fat)
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(), sim]))
        self.assertProblem(p, "universal file holds arm64, the slice declares arm64,x86_64",
                           "no object for declared architecture(s) x86_64")

    def test_simulator_objects_in_device_slice(self) -> None:
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(library=ios_archive(ARM64, 7)),
                                                            sim_slice()]))
        self.assertProblem(p, "ios-arm64/libsmartid_ffi.a: built for ios-simulator (platform 7), "
                              "slice needs ios (platform 2) (2 members")

    def test_legacy_version_min_counts_as_device(self) -> None:
        lib = build_ar_bsd([("old.o", build_macho(version_min=True))])
        path = build_xcf(self.tmp, [device_slice(library=lib), sim_slice()])
        self.assertEqual(problems_of("xcframework", path), [])
        p = problems_of("xcframework", build_xcf(self._sub("b"), [device_slice(), sim_slice(library=lib)]))
        self.assertProblem(p, "built for ios (platform 2), slice needs ios-simulator")

    def _sub(self, name: str) -> str:
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        return d

    def test_missing_header(self) -> None:
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(header=False), sim_slice()]))
        self.assertProblem(p, "ios-arm64: Headers has no smartid_ffiFFI.h",
                           "names header 'smartid_ffiFFI.h', which is not beside it")

    def test_missing_modulemap(self) -> None:
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(), sim_slice(modulemap=None)]))
        self.assertProblem(p, "ios-arm64-simulator: Headers has no module.modulemap")
        p = problems_of("xcframework", build_xcf(self._sub("b"), [
            device_slice(modulemap_name="smartid_ffiFFI.modulemap"), sim_slice()]))
        self.assertProblem(p, "found smartid_ffiFFI.modulemap: Clang only reads module.modulemap")

    def test_modulemap_with_wrong_module(self) -> None:
        p = problems_of("xcframework", build_xcf(self.tmp, [
            device_slice(modulemap='module Other {\n header "smartid_ffiFFI.h"\n}\n'), sim_slice()]))
        self.assertProblem(p, "no module.modulemap declares `module smartid_ffiFFI`")

    def test_wrong_cputype(self) -> None:
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(library=ios_archive(X86_64, 2)),
                                                            sim_slice()]))
        self.assertProblem(p, "ios-arm64/libsmartid_ffi.a: x86_64 object in a slice for arm64",
                           "no object for declared architecture(s) arm64")

    def test_missing_slice(self) -> None:
        path = build_xcf(self.tmp, [device_slice()])
        self.assertProblem(problems_of("xcframework", path), "no iOS simulator slice")
        self.assertProblem(problems_of("xcframework", path, "--slices", "ios-arm64,ios-arm64-simulator"),
                           "required slice ios-arm64-simulator is missing (have: ios-arm64)")
        self.assertEqual(problems_of("xcframework", path, "--slices", "ios-arm64"), [])
        path = build_xcf(self._sub("b"), [sim_slice()])
        self.assertProblem(problems_of("xcframework", path), "no iOS device slice")

    def test_symbols_in_archive(self) -> None:
        syms = [("ffi_smartid_ffi_uniffi_contract_version", EXT_DEFINED),
                ("uniffi_smartid_ffi_fn_func_testing_x", EXT_DEFINED),
                ("uniffi_smartid_ffi_fn_constructor_capturesession_new", UNDEFINED)]
        lib = build_ar_bsd([("o.o", build_macho(symbols=syms))])
        p = problems_of("xcframework", build_xcf(self.tmp, [device_slice(library=lib), sim_slice()]))
        self.assertProblem(p, "no member defines uniffi_smartid_ffi_fn_constructor_capturesession_new",
                           "forbidden symbol(s): uniffi_smartid_ffi_fn_func_testing_x")

    def test_truncated_library_reported(self) -> None:
        good = ios_archive()
        cases = {"trunc_ar": good[:len(good) // 2], "trunc_hdr": good[:30], "empty": b"", "junk": b"hello",
                 "trunc_macho": build_ar_bsd([("o.o", build_macho()[:60])])}
        for i, (name, lib) in enumerate(cases.items()):
            with self.subTest(case=name):
                path = build_xcf(self._sub(name), [device_slice(library=lib), sim_slice()])
                p = problems_of("xcframework", path)
                self.assertProblem(p, "ios-arm64/libsmartid_ffi.a")

    def test_bad_plists(self) -> None:
        path = build_xcf(self.tmp, [device_slice(), sim_slice()])
        with open(os.path.join(path, "Info.plist"), "wb") as f:
            f.write(b"<?xml version='1.0'?><plist><dict><key>x</key>")
        self.assertProblem(problems_of("xcframework", path), "Info.plist is not a readable plist")
        os.remove(os.path.join(path, "Info.plist"))
        self.assertProblem(problems_of("xcframework", path), "Info.plist is missing")
        path = build_xcf(self._sub("b"), [], plist={"CFBundlePackageType": "FMWK", "AvailableLibraries": [
            {"LibraryIdentifier": "ios-arm64", "LibraryPath": "../../etc/passwd", "SupportedPlatform": "ios",
             "SupportedArchitectures": ["arm64"]},
            {"LibraryIdentifier": "x", "SupportedPlatform": 3, "SupportedArchitectures": []}]})
        self.assertProblem(problems_of("xcframework", path), "not 'XFWK'", "no XCFrameworkFormatVersion",
                           "unsafe path(s) in the plist: ../../etc/passwd", "x: no LibraryPath",
                           "SupportedPlatform is a int")

    def test_missing_library_file(self) -> None:
        path = build_xcf(self.tmp, [device_slice(), sim_slice()])
        os.remove(os.path.join(path, "ios-arm64", "libsmartid_ffi.a"))
        self.assertProblem(problems_of("xcframework", path), "library ios-arm64/libsmartid_ffi.a is missing")


class CliTests(TmpCase):
    def test_so_command(self) -> None:
        path = self.file("libsmartid_ffi.so", elf_for("armeabi-v7a"))
        self.assertEqual(problems_of("so", path, "--abi", "armeabi-v7a"), [])
        self.assertProblem(problems_of("so", path, "--abi", "arm64-v8a"), "e_machine 40 (ARM)")
        one = ["--symbol", "ffi_smartid_ffi_uniffi_contract_version"]
        self.assertEqual(problems_of("so", path, "--abi", "armeabi-v7a", *one), [])
        self.assertProblem(problems_of("so", path, "--abi", "armeabi-v7a", "--symbol", "a", "b"),
                           "does not export the function a", "does not export the function b")
        empty = self.file("libsmartid_ffi2.so", b"")
        self.assertProblem(problems_of("so", empty, "--abi", "x86"), "not a readable ELF")

    def test_usage_errors_exit_2(self) -> None:
        so = self.file("libsmartid_ffi.so", elf_for("x86_64"))
        bad = [["so", so], ["so", so, "--abi", "mips"], ["so", so, "--abi", "x86_64", "--page-size", "12000"],
               ["so", os.path.join(self.tmp, "nope.so"), "--abi", "x86_64"],
               ["aar", so, "--abis", "arm64,x86"],
               ["xcframework", so], ["frobnicate", so], []]
        for argv in bad:
            with self.subTest(argv=argv), redirect_stderr(io.StringIO()):
                with self.assertRaises(SystemExit) as cm:
                    run_cli(*argv)
                self.assertEqual(cm.exception.code, 2)

    def test_real_process_exit_codes(self) -> None:
        script = os.path.join(HERE, "check-artifacts.py")
        good = build_aar(os.path.join(self.tmp, "good.aar"))
        bad = build_aar(os.path.join(self.tmp, "bad.aar"), libs={"x86_64": elf_for("x86_64", align=0x1000)})
        for path, code in ((good, 0), (bad, 1)):
            r = subprocess.run([sys.executable, script, "aar", path, "--json"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, code, r.stderr)
            self.assertEqual(json.loads(r.stdout)["ok"], code == 0)
            self.assertEqual(r.stderr, "")
        r = subprocess.run([sys.executable, script, "so", good], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertNotIn("Traceback", r.stderr)


if __name__ == "__main__":
    unittest.main()
