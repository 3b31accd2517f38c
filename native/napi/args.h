// Argument checks for the N-API glue: each failure throws a JS TypeError/RangeError naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace hybridgl::napi {

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

// A non-negative integer no larger than max.
inline int64_t integer(const Napi::Value& v, const std::string& name, int64_t min = 0,
                       int64_t max = (int64_t{1} << 31) - 1) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) throwType(env, name, "an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int64_t>(d))) throwType(env, name, "an integer");
  const int64_t i = static_cast<int64_t>(d);
  if (i < min || i > max)
    throwRange(env, name + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                        std::to_string(i));
  return i;
}

inline bool boolean(const Napi::Value& v, const std::string& name) {
  if (!v.IsBoolean()) throwType(v.Env(), name, "a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::string string(const Napi::Value& v, const std::string& name) {
  if (!v.IsString()) throwType(v.Env(), name, "a string");
  return v.As<Napi::String>().Utf8Value();
}

// Copies a std::vector-like range into a new JS typed array.
template <typename T, typename Vec>
Napi::TypedArrayOf<T> toTypedArray(Napi::Env env, const Vec& src) {
  auto out = Napi::TypedArrayOf<T>::New(env, src.size());
  for (size_t i = 0; i < src.size(); ++i) out[i] = static_cast<T>(src[i]);
  return out;
}

}  // namespace hybridgl::napi
