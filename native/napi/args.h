// Argument checks for the N-API glue: each failure throws a JS TypeError/RangeError naming the argument.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hybridgl::napi {

// The largest buffer that crosses the boundary (input or output) or that a call allocates from its arguments:
// 4 GiB, Node 20's largest Uint8Array. Sizes are checked against it before anything is allocated.
constexpr int64_t kMaxBufferBytes = int64_t{1} << 32;
// The longest list of JS values (RLE strings) a call returns: 2^24, far below V8's array and heap limits.
constexpr int64_t kMaxListLength = int64_t{1} << 24;

// A list length no longer than kMaxListLength.
inline int64_t listLength(Napi::Env env, int64_t n, const std::string& what) {
  if (n > kMaxListLength)
    throw Napi::RangeError::New(env, what + " has " + std::to_string(n) + " entries, more than the list limit " +
                                         std::to_string(kMaxListLength));
  return n;
}

[[noreturn]] inline void throwType(Napi::Env env, const std::string& name, const std::string& want) {
  throw Napi::TypeError::New(env, name + " must be " + want);
}
[[noreturn]] inline void throwRange(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

inline void requireArgs(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n)
    throw Napi::TypeError::New(info.Env(), std::string(fn) + " expects " + std::to_string(n) + " arguments");
}

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<uint8_t> {
  static constexpr napi_typedarray_type kind = napi_uint8_array;
  static constexpr const char* name = "a Uint8Array";
};
template <>
struct TypedArrayTraits<float> {
  static constexpr napi_typedarray_type kind = napi_float32_array;
  static constexpr const char* name = "a Float32Array";
};
template <>
struct TypedArrayTraits<double> {
  static constexpr napi_typedarray_type kind = napi_float64_array;
  static constexpr const char* name = "a Float64Array";
};
template <>
struct TypedArrayTraits<uint16_t> {
  static constexpr napi_typedarray_type kind = napi_uint16_array;
  static constexpr const char* name = "a Uint16Array";
};
template <>
struct TypedArrayTraits<int32_t> {
  static constexpr napi_typedarray_type kind = napi_int32_array;
  static constexpr const char* name = "an Int32Array";
};
template <>
struct TypedArrayTraits<uint32_t> {
  static constexpr napi_typedarray_type kind = napi_uint32_array;
  static constexpr const char* name = "a Uint32Array";
};

// The element count d0·d1·… of a buffer of `elementBytes`-byte elements, computed in 64 bits; a RangeError naming
// `what` (e.g. "channels×height×width") when the product overflows or the buffer would exceed kMaxBufferBytes.
inline int64_t elements(Napi::Env env, const std::string& what, std::initializer_list<int64_t> dims,
                        int64_t elementBytes = 1) {
  int64_t n = 1;
  bool over = false;
  std::string shown;
  for (int64_t d : dims) {
    shown += (shown.empty() ? "" : " × ") + std::to_string(d);
    over = over || d < 0 || __builtin_mul_overflow(n, d, &n);
  }
  int64_t bytes = 0;
  if (over || __builtin_mul_overflow(n, elementBytes, &bytes) || bytes > kMaxBufferBytes)
    throwRange(env, what + " = " + shown + (elementBytes > 1 ? " elements of " + std::to_string(elementBytes) +
                                                                 " bytes" : "") +
                        " exceeds the buffer limit of " + std::to_string(kMaxBufferBytes) + " bytes (4 GiB)");
  return n;
}

// A zero-filled typed array of `count` elements (count from elements()). Its ArrayBuffer is made by JS's own
// constructor: a failed allocation is then a JS RangeError (napi_create_arraybuffer would abort the process), and
// the memory stays V8's (counted by its garbage collector, unlike an external buffer).
template <typename T>
Napi::TypedArrayOf<T> newTypedArray(Napi::Env env, int64_t count, const std::string& name) {
  if (count < 0 || count > kMaxBufferBytes / static_cast<int64_t>(sizeof(T)))
    throwRange(env, name + " of " + std::to_string(count) + " elements exceeds the buffer limit of " +
                        std::to_string(kMaxBufferBytes) + " bytes (4 GiB)");
  const double bytes = static_cast<double>(count) * sizeof(T);
  Napi::ArrayBuffer buffer;
  try {
    auto ctor = env.Global().Get("ArrayBuffer").As<Napi::Function>();
    buffer = ctor.New({Napi::Number::New(env, bytes)}).As<Napi::ArrayBuffer>();
  } catch (const Napi::Error&) {
    throwRange(env, name + ": cannot allocate " + std::to_string(static_cast<int64_t>(bytes)) + " bytes");
  }
  return Napi::TypedArrayOf<T>::New(env, static_cast<size_t>(count), buffer, 0);
}

// Refuses a NaN or ±Infinity among n floats with a RangeError naming name[i]. One branch-free pass (it sits on hot
// paths): the exponent bits of each value are tested, and the index is searched only when one fails.
template <typename F>
void requireFinite(Napi::Env env, const F* data, size_t n, const std::string& name) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  constexpr Bits kExp = static_cast<Bits>(sizeof(F) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  Bits bad = 0;
  for (size_t i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, data + i, sizeof b);
    bad |= static_cast<Bits>((b & kExp) == kExp);
  }
  if (!bad) return;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i]))
      throwRange(env, name + "[" + std::to_string(i) + "] is " + (std::isnan(data[i]) ? "NaN" : "infinite") +
                          "; values must be finite");
}

// A typed array of element type T whose length is exactly `expected` (or any length when expected < 0).
template <typename T>
Napi::TypedArrayOf<T> typedArray(const Napi::Value& v, const std::string& name, int64_t expected = -1) {
  Napi::Env env = v.Env();
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::kind)
    throwType(env, name, TypedArrayTraits<T>::name);
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (expected >= 0 && static_cast<int64_t>(arr.ElementLength()) != expected)
    throwRange(env, name + " has length " + std::to_string(arr.ElementLength()) + ", expected " +
                        std::to_string(expected));
  return arr;
}

// An integer in [min, max] (checked as a double first: casting NaN or 1e300 to an integer is undefined).
inline int64_t integer(const Napi::Value& v, const std::string& name, int64_t min = 0,
                       int64_t max = (int64_t{1} << 31) - 1) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) throwType(env, name, "an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::trunc(d)) throwType(env, name, "an integer");
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    char got[32];
    std::snprintf(got, sizeof got, "%.17g", d);
    throwRange(env, name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + got);
  }
  return static_cast<int64_t>(d);
}

// An upper bound of the weights per output sample of a separable resampling filter of `support` input samples at
// scale 1, widened by the scale when shrinking (Pillow's filters, PyTorch's antialias): the resize kernels hold
// outSize × taps weights per axis, which the glue bounds like any other buffer.
inline int64_t resampleTaps(int64_t in, int64_t out, double support) {
  return static_cast<int64_t>(std::ceil(support * std::max(1.0, static_cast<double>(in) / out))) * 2 + 3;
}

inline bool boolean(const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) throwType(v.Env(), name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::string string(const Napi::Value& v, const std::string& name) {
  if (!v.IsString()) throwType(v.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

// A finite number (not NaN or ±Infinity).
inline double finiteNumber(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) throwType(v.Env(), name, "a finite number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throwRange(v.Env(), name + " must be a finite number, got " + std::to_string(d));
  return d;
}

// Copies a std::vector-like range into a new JS typed array.
template <typename T, typename Vec>
Napi::TypedArrayOf<T> toTypedArray(Napi::Env env, const Vec& src, const std::string& name = "result") {
  auto out = newTypedArray<T>(env, static_cast<int64_t>(src.size()), name);
  T* p = out.Data();
  for (size_t i = 0; i < src.size(); ++i) p[i] = static_cast<T>(src[i]);
  return out;
}

// A Uint8Array over the vector's memory (no copy: masks can be hundreds of MB); the array frees it.
inline Napi::Uint8Array adoptBytes(Napi::Env env, std::vector<uint8_t>&& bytes) {
  if (bytes.empty()) return Napi::Uint8Array::New(env, 0);
  auto* owned = new std::vector<uint8_t>(std::move(bytes));
  auto buffer = Napi::ArrayBuffer::New(
      env, owned->data(), owned->size(), [](Napi::Env, void*, std::vector<uint8_t>* v) { delete v; }, owned);
  return Napi::Uint8Array::New(env, owned->size(), buffer, 0);
}

}  // namespace hybridgl::napi
