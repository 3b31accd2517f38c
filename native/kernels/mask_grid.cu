#include "cuda_util.h"
#include "mask_grid.h"
#include "resample.h"

namespace hybridgl::mask_grid {
namespace {

__global__ void bilinearKernel(const uint8_t* masks, int64_t n, int height, int width, int grid, float* out) {
  const int64_t cells = int64_t{grid} * grid;
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * cells) return;
  const int64_t m = idx / cells;
  const int gy = static_cast<int>((idx % cells) / grid), gx = static_cast<int>(idx % grid);
  const uint8_t* mask = masks + m * static_cast<int64_t>(height) * width;
  const resample::Tap ty = resample::bilinearTap(gy, height, grid), tx = resample::bilinearTap(gx, width, grid);
  auto at = [&](int y, int x) { return mask[int64_t{y} * width + x] ? 1.f : 0.f; };
  out[idx] = resample::blend(at(ty.i0, tx.i0), at(ty.i0, tx.i1), at(ty.i1, tx.i0), at(ty.i1, tx.i1), ty, tx);
}

// One thread per (mask, cell): the integer overlap-weighted count over the cell's pixels.
__global__ void areaKernel(const uint8_t* masks, int64_t n, int height, int width, int grid, const int32_t* firstX,
                           const int32_t* countX, const int64_t* overlapX, int tapsX, const int32_t* firstY,
                           const int32_t* countY, const int64_t* overlapY, int tapsY, float* out) {
  const int64_t cells = int64_t{grid} * grid;
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * cells) return;
  const int64_t m = idx / cells;
  const int gy = static_cast<int>((idx % cells) / grid), gx = static_cast<int>(idx % grid);
  const uint8_t* mask = masks + m * static_cast<int64_t>(height) * width;
  int64_t s = 0;
  for (int ky = 0; ky < countY[gy]; ++ky) {
    const uint8_t* row = mask + int64_t{firstY[gy] + ky} * width + firstX[gx];
    int64_t r = 0;
    for (int kx = 0; kx < countX[gx]; ++kx) r += row[kx] ? overlapX[gx * tapsX + kx] : 0;
    s += overlapY[gy * tapsY + ky] * r;
  }
  out[idx] = static_cast<float>(static_cast<double>(s) / (static_cast<double>(height) * width));
}

}  // namespace

void poolCuda(const uint8_t* masks, int64_t n, int height, int width, int grid, Mode mode, float* out) {
  const int64_t total = n * grid * grid;
  if (total == 0) return;
  cuda::DeviceBuffer<uint8_t> dm(masks, n * static_cast<int64_t>(height) * width);
  cuda::DeviceBuffer<float> dout(total);
  if (mode == Mode::Bilinear) {
    bilinearKernel<<<cuda::blocksFor(total, 256), 256>>>(dm.get(), n, height, width, grid, dout.get());
  } else {
    const AreaAxis ax = areaAxis(width, grid), ay = areaAxis(height, grid);
    cuda::DeviceBuffer<int32_t> fx(ax.first.data(), grid), cx(ax.count.data(), grid), fy(ay.first.data(), grid),
        cy(ay.count.data(), grid);
    cuda::DeviceBuffer<int64_t> ox(ax.overlap.data(), ax.overlap.size()), oy(ay.overlap.data(), ay.overlap.size());
    areaKernel<<<cuda::blocksFor(total, 128), 128>>>(dm.get(), n, height, width, grid, fx.get(), cx.get(), ox.get(),
                                                     ax.maxTaps, fy.get(), cy.get(), oy.get(), ay.maxTaps,
                                                     dout.get());
  }
  cuda::finish("poolMasksToGrid");
  dout.download(out, total);
}

}  // namespace hybridgl::mask_grid
