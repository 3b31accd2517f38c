// HG_MULTIVERSION: gives a hot CPU loop an AVX2 clone, picked at load time, where the toolchain supports GCC's
// function multiversioning (x86-64 Linux); elsewhere it expands to nothing.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define HG_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define HG_MULTIVERSION
#endif
