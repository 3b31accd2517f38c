#include <vector>

#include "cuda_util.h"
#include "parallel.h"
#include "rle.h"
#include "rle_core.h"

namespace hybridgl::rle {
namespace {

// One thread per (mask, column): walks the column top to bottom (threads of a warp read one row's neighbouring
// bytes together) and counts, or writes, the positions where the value differs from the pixel before it in
// column-major order. The pixel before row 0 is the previous column's last one.
__global__ void columnTransitionsKernel(const uint8_t* masks, int64_t n, uint32_t h, uint32_t w,
                                        const unsigned long long* offsets, uint32_t* counts, uint32_t* positions) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * w) return;
  const int64_t i = idx / w;
  const uint32_t x = static_cast<uint32_t>(idx % w);
  const uint8_t* m = masks + i * static_cast<int64_t>(h) * w;
  bool prev = x > 0 && m[static_cast<int64_t>(h - 1) * w + x - 1] != 0;
  uint32_t found = 0;
  uint32_t* out = positions ? positions + offsets[idx] : nullptr;
  for (uint32_t y = 0; y < h; ++y) {
    const bool cur = m[static_cast<int64_t>(y) * w + x] != 0;
    if (cur != prev) {
      if (out) out[found] = x * h + y;
      ++found;
    }
    prev = cur;
  }
  if (counts) counts[idx] = found;
}

// One thread per (mask, column): finds the run holding the column's first pixel, then writes the column's rows.
__global__ void decodeColumnsKernel(const uint32_t* ends, const unsigned long long* runOffsets, int64_t n, uint32_t h,
                                    uint32_t w, uint8_t* out) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * w) return;
  const int64_t i = idx / w;
  const uint32_t x = static_cast<uint32_t>(idx % w);
  const uint32_t* e = ends + runOffsets[i];
  const uint32_t runs = static_cast<uint32_t>(runOffsets[i + 1] - runOffsets[i]);
  uint32_t lo = 0, hi = runs;
  const uint32_t colStart = x * h, colEnd = colStart + h;
  while (lo < hi) {
    const uint32_t mid = (lo + hi) / 2;
    if (e[mid] <= colStart) lo = mid + 1;
    else hi = mid;
  }
  uint8_t* m = out + i * static_cast<int64_t>(h) * w;
  uint32_t pos = colStart;
  for (uint32_t j = lo; j < runs && pos < colEnd; ++j) {
    const uint32_t runEnd = e[j] < colEnd ? e[j] : colEnd;
    const uint8_t v = j & 1;
    for (; pos < runEnd; ++pos) m[static_cast<int64_t>(pos - colStart) * w + x] = v;
  }
}

// One thread per polygon walks its boundary: first counting its marks (marks == nullptr), then writing them at
// markOffsets[i].
__global__ void polygonMarksKernel(const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w,
                                   const unsigned long long* markOffsets, uint32_t* counts, uint32_t* marks) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const uint32_t k = (offsets[i + 1] - offsets[i]) / 2;
  if (marks) {
    uint32_t* out = marks + markOffsets[i];
    core::polygonMarks(xy + offsets[i], k, h, w, [&](uint32_t mark) { *out++ = mark; });
  } else {
    uint32_t found = 0;
    core::polygonMarks(xy + offsets[i], k, h, w, [&](uint32_t) { ++found; });
    counts[i] = found;
  }
}

// One thread per (dt, gt) pair; items holds the m dt RLEs, then the n gt ones.
__global__ void iouKernel(const core::Prepared* items, int64_t m, int64_t n, core::Shared sh, const uint8_t* iscrowd,
                          double* out) {
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (p >= m * n) return;
  const int64_t d = p / n, g = p % n;
  out[p] = core::pairIou(items[d], items[m + g], sh, iscrowd[g] != 0);
}

// Downloads n per-item counts and returns where each item's output starts (n + 1 entries, from 0).
std::vector<unsigned long long> runningSums(const cuda::DeviceBuffer<uint32_t>& counts, int64_t n) {
  std::vector<uint32_t> host(n);
  counts.download(host.data(), n);
  std::vector<unsigned long long> offsets(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) offsets[i + 1] = offsets[i] + host[i];
  return offsets;
}

// A device copy of a host vector, of at least one element so that every pointer handed to a kernel is valid.
template <typename T>
cuda::DeviceBuffer<T> upload(std::vector<T> v) {
  if (v.empty()) v.push_back(0);
  return cuda::DeviceBuffer<T>(v.data(), v.size());
}

}  // namespace

void encodeCuda(const uint8_t* masks, int64_t n, uint32_t h, uint32_t w, Rle* out) {
  const uint64_t pixels = uint64_t{h} * w;
  if (n == 0) return;
  if (pixels == 0) return encodeCpu(masks, n, h, w, out);
  const int64_t columns = n * w;
  cuda::DeviceBuffer<uint8_t> dm(masks, n * pixels);
  cuda::DeviceBuffer<uint32_t> dcounts(columns);
  columnTransitionsKernel<<<cuda::blocksFor(columns, 256), 256>>>(dm.get(), n, h, w, nullptr, dcounts.get(), nullptr);
  cuda::finish("rle encode (count)");
  const std::vector<unsigned long long> offsets = runningSums(dcounts, columns);
  cuda::DeviceBuffer<unsigned long long> doff(offsets.data(), columns + 1);
  cuda::DeviceBuffer<uint32_t> dpos(offsets[columns]);
  columnTransitionsKernel<<<cuda::blocksFor(columns, 256), 256>>>(dm.get(), n, h, w, doff.get(), nullptr, dpos.get());
  cuda::finish("rle encode (write)");
  std::vector<uint32_t> positions(offsets[columns]);
  dpos.download(positions.data(), positions.size());
  for (int64_t i = 0; i < n; ++i) {
    Rle& r = out[i];
    r.h = h, r.w = w;
    r.counts.clear();
    uint32_t last = 0;
    for (unsigned long long k = offsets[i * w]; k < offsets[(i + 1) * w]; ++k) {
      r.counts.push_back(positions[k] - last);
      last = positions[k];
    }
    r.counts.push_back(static_cast<uint32_t>(pixels) - last);
  }
}

void decodeCuda(const Rle* rles, int64_t n, uint8_t* out) {
  if (n == 0) return;
  const uint32_t h = rles[0].h, w = rles[0].w;
  const uint64_t pixels = uint64_t{h} * w;
  if (pixels == 0) return;
  std::vector<uint32_t> ends;
  std::vector<unsigned long long> runOffsets(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t pos = 0;
    for (uint32_t c : rles[i].counts) ends.push_back(pos += c);
    runOffsets[i + 1] = ends.size();
  }
  cuda::DeviceBuffer<uint32_t> dends(ends.data(), ends.size());
  cuda::DeviceBuffer<unsigned long long> doff(runOffsets.data(), runOffsets.size());
  cuda::DeviceBuffer<uint8_t> dout(n * pixels);
  decodeColumnsKernel<<<cuda::blocksFor(n * w, 256), 256>>>(dends.get(), doff.get(), n, h, w, dout.get());
  cuda::finish("rle decode");
  dout.download(out, n * pixels);
}

void iouCuda(const Rle* dt, int64_t m, const Rle* gt, int64_t n, const uint8_t* iscrowd, double* out) {
  if (m == 0 || n == 0) return;
  const core::PreparedSet set(dt, m, gt, n);
  std::vector<uint8_t> crowd(n, 0);
  if (iscrowd)
    for (int64_t g = 0; g < n; ++g) crowd[g] = iscrowd[g];
  auto counts = upload(set.counts), inColumn = upload(set.segmentsInColumn), first = upload(set.firstSegment);
  auto segments = upload(set.segments), multi = upload(set.multiColumns);
  auto y0 = upload(set.firstY0), y1 = upload(set.firstY1);
  const core::Shared sh{counts.get(), y0.get(),       y1.get(),   inColumn.get(),
                        first.get(),  segments.get(), multi.get()};
  cuda::DeviceBuffer<core::Prepared> items(set.items.data(), set.items.size());
  cuda::DeviceBuffer<uint8_t> dcrowd(crowd.data(), n);
  cuda::DeviceBuffer<double> dout(m * n);
  iouKernel<<<cuda::blocksFor(m * n, 128), 128>>>(items.get(), m, n, sh, dcrowd.get(), dout.get());
  cuda::finish("rle iou");
  dout.download(out, m * n);
}

}  // namespace hybridgl::rle

namespace hybridgl::rle {

// The boundary walks run on the GPU; sorting the marks into runs stays on the CPU.
void fromPolygonsCuda(const double* xy, const uint32_t* offsets, int64_t n, uint32_t h, uint32_t w, Rle* out) {
  if (n == 0) return;
  const uint32_t coords = offsets[n];
  std::vector<double> hostXy(xy, xy + coords);
  if (hostXy.empty()) hostXy.push_back(0);
  cuda::DeviceBuffer<double> dxy(hostXy.data(), hostXy.size());
  cuda::DeviceBuffer<uint32_t> doff(offsets, n + 1), dcounts(n);
  polygonMarksKernel<<<cuda::blocksFor(n, 64), 64>>>(dxy.get(), doff.get(), n, h, w, nullptr, dcounts.get(), nullptr);
  cuda::finish("rle polygons (count)");
  const std::vector<unsigned long long> markOffsets = runningSums(dcounts, n);
  cuda::DeviceBuffer<unsigned long long> dmarkOff(markOffsets.data(), n + 1);
  cuda::DeviceBuffer<uint32_t> dmarks(markOffsets[n] ? markOffsets[n] : 1);
  polygonMarksKernel<<<cuda::blocksFor(n, 64), 64>>>(dxy.get(), doff.get(), n, h, w, dmarkOff.get(), nullptr,
                                                     dmarks.get());
  cuda::finish("rle polygons (write)");
  std::vector<uint32_t> marks(markOffsets[n]);
  dmarks.download(marks.data(), marks.size());
  parallelFor(n, 8, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> one;
    for (int64_t i = begin; i < end; ++i) {
      one.assign(marks.begin() + markOffsets[i], marks.begin() + markOffsets[i + 1]);
      out[i] = core::runsFromMarks(one, h, w);
    }
  });
}

}  // namespace hybridgl::rle
