#include <cmath>
#include <memory>
#include <vector>

#include "args.h"
#include "async.h"
#include "modules.h"
#include "rle.h"

namespace hybridgl::napi {
namespace {

using RleList = std::shared_ptr<std::vector<rle::Rle>>;

// The caller's name for its RLE list, used in every error about it.
std::string rleName(const Napi::Value& v) {
  const std::string name = string(v, "name");
  if (name.empty()) throwType(v.Env(), "name", "a non-empty string");
  return name;
}

// counts: string[] and sizes: Uint32Array [h0, w0, h1, w1, …] → parsed RLEs; a bad one throws naming name[i].
RleList readRles(const Napi::Value& countsValue, const Napi::Value& sizesValue, const std::string& name) {
  Napi::Env env = countsValue.Env();
  if (!countsValue.IsArray()) throwType(env, name, "an array of RLEs");
  auto counts = countsValue.As<Napi::Array>();
  const uint32_t n = static_cast<uint32_t>(listLength(env, counts.Length(), name));
  auto sizes = typedArray<uint32_t>(sizesValue, name + " sizes", int64_t{2} * n);
  auto out = std::make_shared<std::vector<rle::Rle>>(n);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string item = name + "[" + std::to_string(i) + "].counts";
    const Napi::Value v = counts.Get(i);
    if (!v.IsString()) throwType(env, item, "a string");
    try {
      (*out)[i] = rle::fromString(v.As<Napi::String>().Utf8Value(), sizes[2 * i], sizes[2 * i + 1], item);
    } catch (const rle::InvalidInput& e) {
      throwRange(env, e.what());
    }
  }
  return out;
}

void requireOneSize(Napi::Env env, const std::vector<rle::Rle>& rles, const std::string& name) {
  for (size_t i = 1; i < rles.size(); ++i)
    if (rles[i].h != rles[0].h || rles[i].w != rles[0].w)
      throwRange(env, name + "[" + std::to_string(i) + "] has another size than " + name + "[0]");
}

Napi::Array toStrings(Napi::Env env, const std::vector<rle::Rle>& rles) {
  auto out = Napi::Array::New(env, rles.size());
  for (size_t i = 0; i < rles.size(); ++i) out.Set(static_cast<uint32_t>(i), rle::toString(rles[i]));
  return out;
}

// rleEncode(masks: Uint8Array, n, height, width, async) → counts strings.
Napi::Value encode(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 5, "rleEncode");
  const int64_t n = integer(cb[1], "n"), h = integer(cb[2], "height"), w = integer(cb[3], "width");
  if (static_cast<uint64_t>(h * w) > rle::kMaxPixels) throwRange(env, "height×width is too large");
  auto masks = typedArray<uint8_t>(cb[0], "masks", elements(env, "n×height×width", {n, h, w}));
  listLength(env, n, "n");
  const bool async = boolean(cb[4], "async");
  auto out = std::make_shared<std::vector<rle::Rle>>(n);
  const Backend be = guard(env, [] { return activeBackend(Family::Rle); });
  auto work = [=, pm = masks.Data()] {
    rle::encode(be, pm, n, static_cast<uint32_t>(h), static_cast<uint32_t>(w), out->data());
  };
  return runSyncOrAsync(env, async, {masks}, work, [=](Napi::Env e) -> Napi::Value { return toStrings(e, *out); });
}

// rleDecode(counts: string[], sizes: Uint32Array, name, async) → Uint8Array of n row-major masks (one size).
Napi::Value decode(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 4, "rleDecode");
  const std::string name = rleName(cb[2]);
  RleList rles = readRles(cb[0], cb[1], name);
  const bool async = boolean(cb[3], "async");
  const int64_t n = static_cast<int64_t>(rles->size());
  const uint64_t pixels = n ? uint64_t{(*rles)[0].h} * (*rles)[0].w : 0;
  requireOneSize(env, *rles, name);
  auto out = newTypedArray<uint8_t>(env, elements(env, name + ": n×height×width", {n, int64_t(pixels)}), "masks");
  auto outRef = std::make_shared<Napi::Reference<Napi::Uint8Array>>(Napi::Persistent(out));
  const Backend be = guard(env, [] { return activeBackend(Family::Rle); });
  auto work = [=, po = out.Data()] { rle::decode(be, rles->data(), n, po); };
  return runSyncOrAsync(env, async, {}, work, [=](Napi::Env) -> Napi::Value { return outRef->Value(); });
}

// rleArea(counts, sizes, name) → Float64Array of areas.
Napi::Value area(const Napi::CallbackInfo& cb) {
  requireArgs(cb, 3, "rleArea");
  RleList rles = readRles(cb[0], cb[1], rleName(cb[2]));
  auto out = newTypedArray<double>(cb.Env(), static_cast<int64_t>(rles->size()), "areas");
  for (size_t i = 0; i < rles->size(); ++i) out.Data()[i] = rle::area((*rles)[i]);
  return out;
}

// rleToBbox(counts, sizes, name) → Float64Array n×4 of [x, y, w, h].
Napi::Value toBbox(const Napi::CallbackInfo& cb) {
  requireArgs(cb, 3, "rleToBbox");
  RleList rles = readRles(cb[0], cb[1], rleName(cb[2]));
  auto out = newTypedArray<double>(cb.Env(), 4 * static_cast<int64_t>(rles->size()), "boxes");
  for (size_t i = 0; i < rles->size(); ++i) rle::toBbox((*rles)[i], out.Data() + 4 * i);
  return out;
}

// rleMerge(counts, sizes, name, intersect) → counts string of the union (intersection); sizes must agree.
Napi::Value merge(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 4, "rleMerge");
  const std::string name = rleName(cb[2]);
  RleList rles = readRles(cb[0], cb[1], name);
  const bool intersect = boolean(cb[3], "intersect");
  if (rles->empty()) throwRange(env, name + " is empty");
  requireOneSize(env, *rles, name);
  return Napi::String::New(env, rle::toString(rle::merge(rles->data(), rles->size(), intersect)));
}

// rleIoU(dtCounts, dtSizes, gtCounts, gtSizes, iscrowd: Uint8Array, async) → Float64Array dt×gt, row-major.
Napi::Value iou(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 6, "rleIoU");
  RleList dt = readRles(cb[0], cb[1], "dt");
  RleList gt = readRles(cb[2], cb[3], "gt");
  auto crowdArr = typedArray<uint8_t>(cb[4], "iscrowd", static_cast<int64_t>(gt->size()));
  auto crowd = std::make_shared<std::vector<uint8_t>>(crowdArr.Data(), crowdArr.Data() + crowdArr.ElementLength());
  const bool async = boolean(cb[5], "async");
  const int64_t m = static_cast<int64_t>(dt->size()), n = static_cast<int64_t>(gt->size());
  auto out = std::make_shared<std::vector<double>>(elements(env, "dt×gt (IoUs)", {m, n}, 8));
  const Backend be = guard(env, [] { return activeBackend(Family::Rle); });
  auto work = [=] { rle::iou(be, dt->data(), m, gt->data(), n, crowd->data(), out->data()); };
  return runSyncOrAsync(env, async, {}, work,
                       [=](Napi::Env e) -> Napi::Value { return toTypedArray<double>(e, *out, "IoUs"); });
}

// rleFromPolygons(coords: Float64Array, offsets: Uint32Array (n+1), height, width, async) → counts strings.
Napi::Value fromPolygons(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 5, "rleFromPolygons");
  auto coords = typedArray<double>(cb[0], "polygons");
  auto offsets = typedArray<uint32_t>(cb[1], "polygon offsets");
  const int64_t h = integer(cb[2], "height"), w = integer(cb[3], "width");
  if (static_cast<uint64_t>(h * w) > rle::kMaxPixels) throwRange(env, "height×width is too large");
  const bool async = boolean(cb[4], "async");
  const int64_t n = listLength(env, static_cast<int64_t>(offsets.ElementLength()) - 1, "polygon offsets");
  const uint32_t* po = offsets.Data();
  const double* pc = coords.Data();
  if (n < 0 || po[0] != 0 || po[n] != coords.ElementLength())
    throwRange(env, "polygon offsets do not span the coordinates");
  for (int64_t i = 0; i < n; ++i)
    if (po[i + 1] < po[i]) throwRange(env, "polygon offsets must not decrease");
  for (size_t j = 0; j < coords.ElementLength(); ++j)
    if (!(std::abs(pc[j]) <= rle::kMaxPolygonCoordinate))
      throwRange(env, "polygon coordinate " + std::to_string(pc[j]) + " is not finite or beyond ±2^22");
  auto out = std::make_shared<std::vector<rle::Rle>>(n);
  const Backend be = guard(env, [] { return activeBackend(Family::Rle); });
  auto work = [=] {
    rle::fromPolygons(be, pc, po, n, static_cast<uint32_t>(h), static_cast<uint32_t>(w), out->data());
  };
  return runSyncOrAsync(env, async, {coords, offsets}, work,
                       [=](Napi::Env e) -> Napi::Value { return toStrings(e, *out); });
}

// rleFromBoxes(boxes: Float64Array n×4 XYWH, height, width) → counts strings.
Napi::Value fromBoxes(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 3, "rleFromBoxes");
  auto boxes = typedArray<double>(cb[0], "boxes");
  const int64_t h = integer(cb[1], "height"), w = integer(cb[2], "width");
  if (static_cast<uint64_t>(h * w) > rle::kMaxPixels) throwRange(env, "height×width is too large");
  if (boxes.ElementLength() % 4) throwRange(env, "boxes must hold 4 numbers per box");
  listLength(env, static_cast<int64_t>(boxes.ElementLength() / 4), "boxes");
  const double* pb = boxes.Data();
  for (size_t j = 0; j < boxes.ElementLength(); ++j)
    if (!(std::abs(pb[j]) <= rle::kMaxPolygonCoordinate / 2))
      throwRange(env, "box value " + std::to_string(pb[j]) + " is not finite or beyond ±2^21");
  std::vector<rle::Rle> out(boxes.ElementLength() / 4);
  rle::fromBoxesCpu(pb, out.size(), static_cast<uint32_t>(h), static_cast<uint32_t>(w), out.data());
  return toStrings(env, out);
}

// rleFromCounts(counts: Uint32Array, height, width) → compressed counts string (frUncompressedRLE), checking
// that the runs cover height×width.
Napi::Value fromCounts(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  requireArgs(cb, 3, "rleFromCounts");
  auto counts = typedArray<uint32_t>(cb[0], "counts");
  const int64_t h = integer(cb[1], "height"), w = integer(cb[2], "width");
  if (static_cast<uint64_t>(h * w) > rle::kMaxPixels) throwRange(env, "height×width is too large");
  rle::Rle r;
  r.h = static_cast<uint32_t>(h), r.w = static_cast<uint32_t>(w);
  r.counts.assign(counts.Data(), counts.Data() + counts.ElementLength());
  uint64_t total = 0;
  for (uint32_t c : r.counts) total += c;
  if (total != static_cast<uint64_t>(h * w))
    throwRange(env, "counts cover " + std::to_string(total) + " pixels, not height×width = " + std::to_string(h * w));
  return Napi::String::New(env, rle::toString(r));
}

// rleToCounts(counts, sizes, name) → the runs of the first RLE as a Uint32Array.
Napi::Value toCounts(const Napi::CallbackInfo& cb) {
  requireArgs(cb, 3, "rleToCounts");
  RleList rles = readRles(cb[0], cb[1], rleName(cb[2]));
  if (rles->empty()) throwRange(cb.Env(), "no RLE given");
  return toTypedArray<uint32_t>(cb.Env(), (*rles)[0].counts);
}

}  // namespace

void registerRle(Napi::Env env, Napi::Object exports) {
  exports.Set("rleEncode", Napi::Function::New(env, encode, "rleEncode"));
  exports.Set("rleDecode", Napi::Function::New(env, decode, "rleDecode"));
  exports.Set("rleArea", Napi::Function::New(env, area, "rleArea"));
  exports.Set("rleToBbox", Napi::Function::New(env, toBbox, "rleToBbox"));
  exports.Set("rleMerge", Napi::Function::New(env, merge, "rleMerge"));
  exports.Set("rleIoU", Napi::Function::New(env, iou, "rleIoU"));
  exports.Set("rleFromPolygons", Napi::Function::New(env, fromPolygons, "rleFromPolygons"));
  exports.Set("rleFromBoxes", Napi::Function::New(env, fromBoxes, "rleFromBoxes"));
  exports.Set("rleFromCounts", Napi::Function::New(env, fromCounts, "rleFromCounts"));
  exports.Set("rleToCounts", Napi::Function::New(env, toCounts, "rleToCounts"));
}

}  // namespace hybridgl::napi
