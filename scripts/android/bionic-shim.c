/* Linked into the no-NDK build's libunwind (scripts/build-aar.sh): LLVM libunwind is compiled there with
 * zig's musl headers, where errno is `*__errno_location()`; Bionic's is `*__errno()`. Hidden: nothing
 * outside libsmartid_ffi.so sees it. */
extern int *__errno(void);
__attribute__((visibility("hidden"))) int *__errno_location(void) { return __errno(); }
