#include "cuda_util.h"
#include "mask_ops.h"

namespace hybridgl::mask_ops {
namespace {

__global__ void packBitsKernel(const uint8_t* masks, int64_t n, int64_t pixels, int64_t words, uint64_t* packed) {
  const int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (idx >= n * words) return;
  const int64_t k = idx / words, w = idx % words;
  const uint8_t* src = masks + k * pixels + w * 64;
  const int64_t rest = pixels - w * 64;
  const int64_t count = rest < 64 ? rest : 64;
  uint64_t bits = 0;
  for (int64_t b = 0; b < count; ++b) bits |= static_cast<uint64_t>(src[b] != 0) << b;
  packed[idx] = bits;
}

// One block per (i, j) pair; threads stride over words and reduce in shared memory.
__global__ void pairCountsKernel(const uint64_t* pa, const uint64_t* pb, int64_t m, int64_t words,
                                 unsigned long long* inter, unsigned long long* uni) {
  const int64_t pair = blockIdx.x;
  const int64_t i = pair / m, j = pair % m;
  const uint64_t* x = pa + i * words;
  const uint64_t* y = pb + j * words;
  unsigned long long si = 0, su = 0;
  for (int64_t w = threadIdx.x; w < words; w += blockDim.x) {
    si += __popcll(x[w] & y[w]);
    su += __popcll(x[w] | y[w]);
  }
  __shared__ unsigned long long shI[256], shU[256];
  shI[threadIdx.x] = si;
  shU[threadIdx.x] = su;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      shI[threadIdx.x] += shI[threadIdx.x + s];
      shU[threadIdx.x] += shU[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    inter[pair] = shI[0];
    uni[pair] = shU[0];
  }
}

// One block per mask: rows are strided over threads, extremes merged with atomics in shared memory.
__global__ void boxesKernel(const uint8_t* masks, int height, int width, int32_t* boxes) {
  const int64_t k = blockIdx.x;
  const uint8_t* m = masks + k * static_cast<int64_t>(height) * width;
  __shared__ int x1, y1, x2, y2;
  if (threadIdx.x == 0) {
    x1 = width, y1 = height, x2 = -1, y2 = -1;
  }
  __syncthreads();
  int lx1 = width, ly1 = height, lx2 = -1, ly2 = -1;
  const int64_t pixels = static_cast<int64_t>(height) * width;
  for (int64_t p = threadIdx.x; p < pixels; p += blockDim.x) {
    if (!m[p]) continue;
    const int y = static_cast<int>(p / width), x = static_cast<int>(p % width);
    lx1 = min(lx1, x), lx2 = max(lx2, x), ly1 = min(ly1, y), ly2 = max(ly2, y);
  }
  if (lx2 >= 0) {
    atomicMin(&x1, lx1), atomicMin(&y1, ly1), atomicMax(&x2, lx2), atomicMax(&y2, ly2);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    int32_t* out = boxes + 4 * k;
    const bool empty = x2 < 0;
    out[0] = empty ? 0 : x1, out[1] = empty ? 0 : y1, out[2] = empty ? 0 : x2, out[3] = empty ? 0 : y2;
  }
}

}  // namespace

void pairwiseCountsCuda(const uint8_t* a, int64_t n, const uint8_t* b, int64_t m, int64_t pixels, uint64_t* inter,
                        uint64_t* uni) {
  if (n == 0 || m == 0) return;
  const int64_t words = (pixels + 63) / 64;
  cuda::DeviceBuffer<uint8_t> da(a, n * pixels), db(b, m * pixels);
  cuda::DeviceBuffer<uint64_t> pa(n * words), pb(m * words);
  cuda::DeviceBuffer<unsigned long long> di(n * m), du(n * m);
  packBitsKernel<<<cuda::blocksFor(n * words, 256), 256>>>(da.get(), n, pixels, words, pa.get());
  packBitsKernel<<<cuda::blocksFor(m * words, 256), 256>>>(db.get(), m, pixels, words, pb.get());
  pairCountsKernel<<<static_cast<unsigned>(n * m), 256>>>(pa.get(), pb.get(), m, words, di.get(), du.get());
  cuda::finish("pairwiseCounts");
  di.download(reinterpret_cast<unsigned long long*>(inter), n * m);
  du.download(reinterpret_cast<unsigned long long*>(uni), n * m);
}

void boxesCuda(const uint8_t* masks, int64_t n, int height, int width, int32_t* boxes) {
  if (n == 0) return;
  cuda::DeviceBuffer<uint8_t> dm(masks, n * static_cast<int64_t>(height) * width);
  cuda::DeviceBuffer<int32_t> db(n * 4);
  boxesKernel<<<static_cast<unsigned>(n), 256>>>(dm.get(), height, width, db.get());
  cuda::finish("boxes");
  db.download(boxes, n * 4);
}

}  // namespace hybridgl::mask_ops
