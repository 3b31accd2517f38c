#include "sam_post.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <cmath>
#include <cstring>
#include <numeric>

#include "parallel.h"

namespace hybridgl::sam_post {

std::pair<int, int> resizeShape(int height, int width, int longSide) {
  const double scale = longSide * 1.0 / std::max(height, width);
  return {static_cast<int>(height * scale + 0.5), static_cast<int>(width * scale + 0.5)};
}

Taps bilinearTaps(int in, int out) {
  Taps t;
  t.i0.resize(out), t.i1.resize(out), t.l0.resize(out), t.l1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int o = 0; o < out; ++o) {
    if (in == out) {
      t.i0[o] = t.i1[o] = o, t.l0[o] = 1.0f, t.l1[o] = 0.0f;
      continue;
    }
    const double src = std::max(static_cast<double>(scale) * (o + 0.5) - 0.5, 0.0);
    const int i0 = static_cast<int>(src);
    t.i0[o] = i0;
    t.i1[o] = i0 + (i0 < in - 1 ? 1 : 0);
    t.l1[o] = static_cast<float>(std::min(std::max(src - i0, 0.0), 1.0));
    t.l0[o] = 1.0f - t.l1[o];
  }
  return t;
}

namespace {

// PyTorch's CPU kernel (as built with FMA contraction) evaluates each 2-tap sum as fma(a, w0, round(b·w1)).
struct HardwareFma {
  float operator()(float a, float b, float c) const { return __builtin_fmaf(a, b, c); }
};
struct SoftwareFma {
  float operator()(float a, float b, float c) const { return std::fma(a, b, c); }
};

// The geometry's taps, restricted to the intermediate (padded-frame) rows/columns that the second resize reads.
struct Plan {
  Geometry g;
  Taps y1, x1;                          // stage 1 at the needed rows / columns, compacted
  std::vector<int32_t> y2a, y2b, x2a, x2b;  // stage 2 taps as compact indices
  std::vector<float> wy0, wy1, wx0, wx1;
};

// Compacts the needed intermediate indices of one axis and the stage-1 taps at them.
void compactAxis(int lowIn, int padded, int resized, int out, Taps& stage1, std::vector<int32_t>& a,
                 std::vector<int32_t>& b, std::vector<float>& w0, std::vector<float>& w1) {
  const Taps s2 = bilinearTaps(resized, out);
  const Taps s1 = bilinearTaps(lowIn, padded);
  std::vector<int32_t> slot(resized, -1);
  for (int o = 0; o < out; ++o) slot[s2.i0[o]] = slot[s2.i1[o]] = 0;
  for (int r = 0; r < resized; ++r)
    if (slot[r] == 0) {
      slot[r] = static_cast<int32_t>(stage1.i0.size());
      stage1.i0.push_back(s1.i0[r]), stage1.i1.push_back(s1.i1[r]);
      stage1.l0.push_back(s1.l0[r]), stage1.l1.push_back(s1.l1[r]);
    }
  a.resize(out), b.resize(out);
  for (int o = 0; o < out; ++o) a[o] = slot[s2.i0[o]], b[o] = slot[s2.i1[o]];
  w0 = s2.l0, w1 = s2.l1;
}

Plan makePlan(const Geometry& g) {
  Plan p;
  p.g = g;
  compactAxis(g.lowH, g.padded, g.resizedH, g.height, p.y1, p.y2a, p.y2b, p.wy0, p.wy1);
  compactAxis(g.lowW, g.padded, g.resizedW, g.width, p.x1, p.x2a, p.x2b, p.wx0, p.wx1);
  return p;
}

// One proposal: low-res rows interpolated at the needed columns (R), then the needed intermediate rows (I), then
// the output pixels, each step with PyTorch's rounding; sink(row, values) consumes each output row.
// Scratch buffers are the caller's.
template <typename Fma, typename Sink>
__attribute__((always_inline)) inline void upscaleOne(const Plan& p, const float* low, std::vector<float>& rows,
                                                      std::vector<float>& inter, std::vector<float>& cols, Fma fma,
                                                      Sink sink) {
  const Geometry& g = p.g;
  const size_t nx = p.x1.i0.size(), ny = p.y1.i0.size();
  rows.resize(static_cast<size_t>(g.lowH) * nx);
  inter.resize(ny * nx);
  for (int y = 0; y < g.lowH; ++y) {
    const float* src = low + static_cast<size_t>(y) * g.lowW;
    float* dst = rows.data() + y * nx;
    for (size_t c = 0; c < nx; ++c) dst[c] = fma(src[p.x1.i0[c]], p.x1.l0[c], src[p.x1.i1[c]] * p.x1.l1[c]);
  }
  for (size_t r = 0; r < ny; ++r) {
    const float* a = rows.data() + p.y1.i0[r] * nx;
    const float* b = rows.data() + p.y1.i1[r] * nx;
    const float w0 = p.y1.l0[r], w1 = p.y1.l1[r];
    float* dst = inter.data() + r * nx;
    for (size_t c = 0; c < nx; ++c) dst[c] = fma(a[c], w0, b[c] * w1);
  }
  // Second resize, separable as PyTorch evaluates it: each needed intermediate row interpolated at the output
  // columns (cols), then the output rows from pairs of those.
  cols.resize(ny * g.width);
  for (size_t r = 0; r < ny; ++r) {
    const float* src = inter.data() + r * nx;
    float* dst = cols.data() + r * g.width;
    for (int j = 0; j < g.width; ++j) dst[j] = fma(src[p.x2a[j]], p.wx0[j], src[p.x2b[j]] * p.wx1[j]);
  }
  std::vector<float>& line = rows;  // rows are no longer needed: reuse as the output line
  line.resize(g.width);
  for (int i = 0; i < g.height; ++i) {
    const float* a = cols.data() + static_cast<size_t>(p.y2a[i]) * g.width;
    const float* b = cols.data() + static_cast<size_t>(p.y2b[i]) * g.width;
    const float w0 = p.wy0[i], w1 = p.wy1[i];
    for (int j = 0; j < g.width; ++j) line[j] = fma(a[j], w0, b[j] * w1);
    sink(i, line.data());
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define HYBRIDGL_FMA_TARGET __attribute__((target("avx2,fma")))
bool hardwareFma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
#define HYBRIDGL_FMA_TARGET
bool hardwareFma() { return true; }  // AArch64: fused multiply-add is in the base ISA
#endif

// upscaleOne compiled for CPUs with AVX2 and FMA, where __builtin_fmaf becomes one (vector) instruction.
template <typename Sink>
HYBRIDGL_FMA_TARGET void upscaleOneFma(const Plan& p, const float* low, std::vector<float>& rows,
                                       std::vector<float>& inter, std::vector<float>& cols, Sink& sink) {
  upscaleOne(p, low, rows, inter, cols, HardwareFma{}, std::ref(sink));
}

// Thresholds and counts one proposal's upscaled logits.
struct ThresholdSink {
  float maskThr, hiThr, loThr;
  uint8_t* mask;
  int width;
  int64_t hi = 0, lo = 0;
  void operator()(int i, const float* v) {
    uint8_t* out = mask + static_cast<size_t>(i) * width;
    int64_t h = 0, l = 0;
    for (int j = 0; j < width; ++j) {
      out[j] = v[j] > maskThr;
      h += v[j] > hiThr;
      l += v[j] > loThr;
    }
    hi += h, lo += l;
  }
};

struct ValueSink {
  float* out;
  int width;
  void operator()(int i, const float* v) const { std::copy_n(v, width, out + static_cast<size_t>(i) * width); }
};

// Runs upscaleOne over proposals [0, count) in parallel, with hardware FMA where the CPU has it.
template <typename MakeSink, typename Done>
void upscaleAll(const Geometry& g, int64_t count, const float* lowRes, const int32_t* select, MakeSink makeSink,
                Done done) {
  const Plan plan = makePlan(g);
  const bool hardware = hardwareFma();
  parallelFor(count, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> rows, inter, cols;
    for (int64_t k = begin; k < end; ++k) {
      const float* low = lowRes + static_cast<size_t>(select ? select[k] : k) * g.lowH * g.lowW;
      auto sink = makeSink(k);
      if (hardware)
        upscaleOneFma(plan, low, rows, inter, cols, sink);
      else
        upscaleOne(plan, low, rows, inter, cols, SoftwareFma{}, std::ref(sink));
      done(k, sink);
    }
  });
}

}  // namespace

void upscaleThresholdCpu(const float* lowRes, const int32_t* select, int64_t count, const Geometry& g,
                         float maskThreshold, float hiThreshold, float loThreshold, uint8_t* masks,
                         int64_t* hiCounts, int64_t* loCounts) {
  const size_t pixels = static_cast<size_t>(g.height) * g.width;
  upscaleAll(
      g, count, lowRes, select,
      [&](int64_t k) { return ThresholdSink{maskThreshold, hiThreshold, loThreshold, masks + k * pixels, g.width}; },
      [&](int64_t k, const ThresholdSink& s) { hiCounts[k] = s.hi, loCounts[k] = s.lo; });
}

void upscaleLogitsCpu(const float* lowRes, int64_t count, const Geometry& g, float* out) {
  const size_t pixels = static_cast<size_t>(g.height) * g.width;
  upscaleAll(
      g, count, lowRes, nullptr, [&](int64_t k) { return ValueSink{out + k * pixels, g.width}; },
      [](int64_t, const ValueSink&) {});
}

std::vector<int32_t> nms(const float* boxes, const float* scores, int64_t n, double iouThreshold) {
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // torch.sort(descending) puts NaN first; stable keeps ties in index order.
  auto key = [&](int32_t i) { return std::isnan(scores[i]) ? INFINITY : scores[i]; };
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    const bool na = std::isnan(scores[a]), nb = std::isnan(scores[b]);
    if (na != nb) return na;
    return key(a) > key(b);
  });
  std::vector<float> area(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* b = boxes + 4 * i;
    area[i] = (b[2] - b[0]) * (b[3] - b[1]);
  }
  std::vector<uint8_t> suppressed(n, 0);
  std::vector<int32_t> keep;
  for (int64_t oi = 0; oi < n; ++oi) {
    const int32_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    const float* bi = boxes + 4 * i;
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int32_t j = order[oj];
      if (suppressed[j]) continue;
      const float* bj = boxes + 4 * j;
      const float w = std::max(0.0f, std::min(bi[2], bj[2]) - std::max(bi[0], bj[0]));
      const float h = std::max(0.0f, std::min(bi[3], bj[3]) - std::max(bi[1], bj[1]));
      const float inter = w * h;
      const float iou = inter / (area[i] + area[j] - inter);
      if (iou > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

bool removeSmallRegions(uint8_t* mask, int height, int width, int64_t minArea, bool holes) {
  const uint8_t target = holes ? 0 : 1;
  struct Run {
    int y, x0, x1;  // x1 inclusive
  };
  std::vector<Run> runs;
  std::vector<size_t> rowStart(height + 1);
  for (int y = 0; y < height; ++y) {
    rowStart[y] = runs.size();
    // memchr jumps over the bytes between run boundaries (masks hold 0/1).
    const uint8_t* row = mask + static_cast<size_t>(y) * width;
    const uint8_t* end = row + width;
    const uint8_t* x = row;
    while (x < end) {
      const uint8_t* start = static_cast<const uint8_t*>(std::memchr(x, target, end - x));
      if (!start) break;
      const uint8_t* stop = static_cast<const uint8_t*>(std::memchr(start, target ^ 1, end - start));
      if (!stop) stop = end;
      runs.push_back({y, static_cast<int>(start - row), static_cast<int>(stop - row) - 1});
      x = stop;
    }
  }
  rowStart[height] = runs.size();
  if (runs.empty()) return false;

  std::vector<int32_t> parent(runs.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int32_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (int y = 1; y < height; ++y) {
    size_t p = rowStart[y - 1];
    for (size_t r = rowStart[y]; r < rowStart[y + 1]; ++r) {
      // 8-connectivity: runs touch when their column ranges overlap after widening by one.
      while (p < rowStart[y] && runs[p].x1 < runs[r].x0 - 1) ++p;
      for (size_t q = p; q < rowStart[y] && runs[q].x0 <= runs[r].x1 + 1; ++q) {
        const int32_t a = find(static_cast<int32_t>(q)), b = find(static_cast<int32_t>(r));
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
    }
  }
  // Per component (keyed by root): area and OpenCV's label order, which follows the first 2×2 block it touches.
  std::vector<int64_t> area(runs.size(), 0), firstBlock(runs.size(), INT64_MAX);
  const int64_t blocksPerRow = (width + 1) / 2;
  for (size_t r = 0; r < runs.size(); ++r) {
    const int32_t root = find(static_cast<int32_t>(r));
    area[root] += runs[r].x1 - runs[r].x0 + 1;
    firstBlock[root] = std::min(firstBlock[root], (runs[r].y / 2) * blocksPerRow + runs[r].x0 / 2);
  }
  bool anySmall = false, allSmall = true;
  int32_t largest = -1;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (parent[r] != static_cast<int32_t>(r)) continue;
    const bool small = area[r] < minArea;
    anySmall |= small;
    allSmall &= small;
    if (largest < 0 || area[r] > area[largest] ||
        (area[r] == area[largest] && firstBlock[r] < firstBlock[largest]))
      largest = static_cast<int32_t>(r);
  }
  if (!anySmall) return false;
  for (size_t r = 0; r < runs.size(); ++r) {
    const int32_t root = find(static_cast<int32_t>(r));
    bool flip;
    if (holes)
      flip = area[root] < minArea;
    else
      flip = allSmall ? root != largest : area[root] < minArea;
    if (flip) std::fill_n(mask + static_cast<size_t>(runs[r].y) * width + runs[r].x0, runs[r].x1 - runs[r].x0 + 1,
                          static_cast<uint8_t>(holes ? 1 : 0));
  }
  return true;
}

// memchr finds each row's first set byte.
void maskBox(const uint8_t* mask, int height, int width, int32_t* box) {
  int x1 = width, y1 = height, x2 = -1, y2 = -1;
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = mask + static_cast<size_t>(y) * width;
    const void* first = std::memchr(row, 1, width);
    if (!first) continue;
    int last = width - 1;
    while (!row[last]) --last;
    x1 = std::min(x1, static_cast<int>(static_cast<const uint8_t*>(first) - row));
    x2 = std::max(x2, last);
    if (y1 == height) y1 = y;
    y2 = y;
  }
  if (x2 < 0) x1 = y1 = x2 = y2 = 0;
  box[0] = x1, box[1] = y1, box[2] = x2, box[3] = y2;
}

namespace {

std::vector<float> boxesAsFloat(const std::vector<int32_t>& boxes) { return {boxes.begin(), boxes.end()}; }

}  // namespace

Result postprocess(Backend be, const float* lowRes, const float* iou, int64_t proposals, const Geometry& g,
                   const Options& opt) {
  Result res;
  const size_t pixels = static_cast<size_t>(g.height) * g.width;
  // Scalars compared with float32 tensors are cast to float32 (PyTorch's type promotion).
  std::vector<int32_t> cand;
  for (int64_t i = 0; i < proposals; ++i)
    if (!(opt.predIouThresh > 0.0) || iou[i] > static_cast<float>(opt.predIouThresh))
      cand.push_back(static_cast<int32_t>(i));

  const int64_t nc = static_cast<int64_t>(cand.size());
  const float maskThr = static_cast<float>(opt.maskThreshold);
  const float hiThr = static_cast<float>(opt.maskThreshold + opt.stabilityScoreOffset);
  const float loThr = static_cast<float>(opt.maskThreshold - opt.stabilityScoreOffset);
  // Memory: the candidates are upscaled a chunk at a time for their stability counts and boxes, and only the NMS
  // survivors are upscaled again (the same bits) and kept, so full-resolution masks exist for one chunk and the
  // survivors instead of for every candidate (1 byte per pixel each).
  constexpr int64_t kChunk = 16;
  std::vector<int64_t> hi(nc), lo(nc);
  std::vector<int32_t> candBoxes(nc * 4);
  {
    std::unique_ptr<uint8_t[]> chunk(new uint8_t[std::min(nc, kChunk) * pixels]);  // written by the upscale
    for (int64_t c0 = 0; c0 < nc; c0 += kChunk) {
      const int64_t m = std::min(kChunk, nc - c0);
      upscaleThreshold(be, lowRes, cand.data() + c0, m, g, maskThr, hiThr, loThr, chunk.get(), hi.data() + c0,
                       lo.data() + c0);
      parallelFor(m, 4, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) maskBox(chunk.get() + k * pixels, g.height, g.width, &candBoxes[4 * (c0 + k)]);
      });
    }
  }

  // Stability = float32(hi) / float32(lo), kept when >= the threshold (NaN for an empty union fails).
  std::vector<int32_t> kept;  // indices into cand
  std::vector<float> stability;
  for (int64_t k = 0; k < nc; ++k) {
    const float s = static_cast<float>(hi[k]) / static_cast<float>(lo[k]);
    if (!(opt.stabilityScoreThresh > 0.0) || s >= static_cast<float>(opt.stabilityScoreThresh)) {
      kept.push_back(static_cast<int32_t>(k));
      stability.push_back(s);
    }
  }
  const int64_t nk = static_cast<int64_t>(kept.size());
  std::vector<int32_t> boxes(nk * 4);
  for (int64_t k = 0; k < nk; ++k) std::copy_n(&candBoxes[4 * kept[k]], 4, &boxes[4 * k]);
  std::vector<float> scores(nk);
  for (int64_t k = 0; k < nk; ++k) scores[k] = iou[cand[kept[k]]];
  std::vector<int32_t> order = nms(boxesAsFloat(boxes).data(), scores.data(), nk, opt.boxNmsThresh);

  // The NMS survivors at full resolution, survivor r at masks + r·pixels.
  const int64_t n1 = static_cast<int64_t>(order.size());
  std::vector<int32_t> survivors(n1);
  for (int64_t r = 0; r < n1; ++r) survivors[r] = cand[kept[order[r]]];
  std::unique_ptr<uint8_t[]> masks(new uint8_t[n1 * pixels]);  // every byte is written by the upscale
  if (n1 > 0) {
    std::vector<int64_t> hi2(n1), lo2(n1);
    upscaleThreshold(be, lowRes, survivors.data(), n1, g, maskThr, hiThr, loThr, masks.get(), hi2.data(), lo2.data());
  }

  // Small regions on the NMS survivors (in place); changed masks score 0.
  std::vector<int32_t> finalBoxes(n1 * 4);
  std::vector<float> regionScore(n1, 1.0f);
  parallelFor(n1, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      uint8_t* m = masks.get() + r * pixels;
      if (opt.minMaskRegionArea > 0) {
        const bool holes = removeSmallRegions(m, g.height, g.width, opt.minMaskRegionArea, true);
        const bool islands = removeSmallRegions(m, g.height, g.width, opt.minMaskRegionArea, false);
        regionScore[r] = holes || islands ? 0.0f : 1.0f;
        if (holes || islands) {
          maskBox(m, g.height, g.width, &finalBoxes[4 * r]);
          continue;
        }
      }
      std::copy_n(&boxes[4 * order[r]], 4, &finalBoxes[4 * r]);
    }
  });
  std::vector<int32_t> second(n1);
  std::iota(second.begin(), second.end(), 0);
  // The reference re-runs NMS with max(box_nms_thresh, crop_nms_thresh = 0.7).
  if (opt.minMaskRegionArea > 0 && n1 > 0)
    second = nms(boxesAsFloat(finalBoxes).data(), regionScore.data(), n1, std::max(opt.boxNmsThresh, 0.7));

  res.count = static_cast<int64_t>(second.size());
  res.masks.resize(res.count * pixels);
  parallelFor(res.count, 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      std::copy_n(masks.get() + second[r] * pixels, pixels, res.masks.data() + r * pixels);
  });
  for (int64_t r = 0; r < res.count; ++r) {
    const int32_t s = second[r];
    const int32_t k = order[s];
    res.boxes.insert(res.boxes.end(), &finalBoxes[4 * s], &finalBoxes[4 * s] + 4);
    res.predictedIoU.push_back(scores[k]);
    res.stability.push_back(stability[k]);
    res.proposal.push_back(cand[kept[k]]);
  }
  return res;
}

}  // namespace hybridgl::sam_post
