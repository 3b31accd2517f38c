#include <algorithm>

#include "mask_grid.h"
#include "parallel.h"
#include "resample.h"

namespace hybridgl::mask_grid {

AreaAxis areaAxis(int inSize, int outSize) {
  AreaAxis a;
  a.first.resize(outSize);
  a.count.resize(outSize);
  std::vector<std::vector<int64_t>> rows(outSize);
  for (int o = 0; o < outSize; ++o) {
    const int64_t lo = int64_t{o} * inSize, hi = int64_t{o + 1} * inSize;
    const int first = static_cast<int>(lo / outSize);
    const int last = static_cast<int>((hi + outSize - 1) / outSize);  // exclusive
    a.first[o] = first;
    for (int i = first; i < last; ++i)
      rows[o].push_back(std::min(hi, int64_t{i + 1} * outSize) - std::max(lo, int64_t{i} * outSize));
    a.count[o] = static_cast<int32_t>(rows[o].size());
    a.maxTaps = std::max(a.maxTaps, a.count[o]);
  }
  a.overlap.assign(static_cast<size_t>(outSize) * a.maxTaps, 0);
  for (int o = 0; o < outSize; ++o) std::copy(rows[o].begin(), rows[o].end(), a.overlap.begin() + o * a.maxTaps);
  return a;
}

void poolCpu(const uint8_t* masks, int64_t n, int height, int width, int grid, Mode mode, float* out) {
  const int64_t pixels = static_cast<int64_t>(height) * width, cells = int64_t{grid} * grid;
  if (mode == Mode::Bilinear) {
    parallelFor(n, 4, [&](int64_t begin, int64_t end) {
      for (int64_t m = begin; m < end; ++m) {
        const uint8_t* mask = masks + m * pixels;
        for (int gy = 0; gy < grid; ++gy) {
          const resample::Tap ty = resample::bilinearTap(gy, height, grid);
          for (int gx = 0; gx < grid; ++gx) {
            const resample::Tap tx = resample::bilinearTap(gx, width, grid);
            auto at = [&](int y, int x) { return mask[int64_t{y} * width + x] ? 1.f : 0.f; };
            out[m * cells + gy * grid + gx] =
                resample::blend(at(ty.i0, tx.i0), at(ty.i0, tx.i1), at(ty.i1, tx.i0), at(ty.i1, tx.i1), ty, tx);
          }
        }
      }
    });
    return;
  }
  // Area: each mask row is reduced along x into per-cell integer sums once, then rows are combined along y.
  const AreaAxis ax = areaAxis(width, grid), ay = areaAxis(height, grid);
  const double denom = static_cast<double>(pixels);
  parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> rowCells(static_cast<size_t>(height) * grid);
    for (int64_t m = begin; m < end; ++m) {
      const uint8_t* mask = masks + m * pixels;
      for (int y = 0; y < height; ++y) {
        const uint8_t* row = mask + int64_t{y} * width;
        for (int gx = 0; gx < grid; ++gx) {
          int64_t s = 0;
          for (int k = 0; k < ax.count[gx]; ++k) s += row[ax.first[gx] + k] ? ax.overlap[gx * ax.maxTaps + k] : 0;
          rowCells[int64_t{y} * grid + gx] = s;
        }
      }
      for (int gy = 0; gy < grid; ++gy)
        for (int gx = 0; gx < grid; ++gx) {
          int64_t s = 0;
          for (int k = 0; k < ay.count[gy]; ++k)
            s += ay.overlap[gy * ay.maxTaps + k] * rowCells[int64_t{ay.first[gy] + k} * grid + gx];
          out[m * cells + gy * grid + gx] = static_cast<float>(static_cast<double>(s) / denom);
        }
    }
  });
}

}  // namespace hybridgl::mask_grid
