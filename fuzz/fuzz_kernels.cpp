// libFuzzer target: every quantize and dequantize entry point of the kernels
// with arbitrary values, sizes and shapes.
//
// Input: byte 0 picks the entry point, byte 1 the size mode, bytes 2..3 a
// block count; the rest is the payload (floats or stored bytes, repeated to
// the length the call needs). Properties checked on every input:
//   - a bad size or shape is a qmath::error (never a read or write outside
//     the spans: ASan; never another exception: libFuzzer reports it);
//   - the default architecture (SIMD) and qmath::scalar_arch (the constexpr
//     reference) agree: both fail, or both write the same bytes (quantize) or
//     the same floats, bit for bit with NaN equal to NaN (dequantize).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include <qmath/quant.hpp>

#include "fuzz_support.hpp"

namespace {

using qmath::scalar_arch;

// The fuzzer's bytes, consumed from the front.
struct input {
  const std::uint8_t* data;
  std::size_t size;

  std::uint8_t byte() {
    if (size == 0) return 0;
    --size;
    return *data++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(byte() | byte() << 8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16() | std::uint32_t{u16()} << 16); }
  // `n` objects of T from the rest of the input, repeated (zeros when empty).
  template <class T>
  std::vector<T> fill(std::size_t n) const {
    std::vector<T> out(n);
    if (size == 0 || n == 0) return out;
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    for (std::size_t i = 0; i < n * sizeof(T); ++i) dst[i] = data[i % size];
    return out;
  }
};

[[noreturn]] void fail(const char* what) { qmath_fuzz::fail("fuzz_kernels", what); }
using qmath_fuzz::ok;

// memcmp that allows empty (possibly null) buffers.
bool same_memory(const void* a, const void* b, std::size_t n) { return n == 0 || std::memcmp(a, b, n) == 0; }

bool same_floats(std::span<const float> a, std::span<const float> b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    const bool both_nan = (x & 0x7fffffffu) > 0x7f800000u && (y & 0x7fffffffu) > 0x7f800000u;
    if (x != y && !both_nan) return false;
  }
  return true;
}

// Size modes: exact sizes, a byte span one too short or long, a length that
// is not whole blocks, or a length near 2^64 given with a short span (the
// check must refuse it before touching memory).
enum class size_mode : std::uint8_t { exact, short_bytes, long_bytes, partial_block, huge, count };

template <class F>
void block_format(input in) {
  constexpr std::size_t elems = F::info.block_elems;
  const auto mode = static_cast<size_mode>(in.byte() % static_cast<std::uint8_t>(size_mode::count));
  const std::size_t blocks = in.u16() % 65;  // up to 64 blocks (int8_rowwise: rows)
  std::size_t n = blocks * elems;
  if (mode == size_mode::partial_block) n += 1 + in.byte() % (elems > 1 ? elems - 1 : 1);
  std::size_t bytes = 0;
  if (!ok([&] { bytes = static_cast<std::size_t>(qmath::storage_bytes<F>(blocks * elems)); })) fail("storage_bytes");
  bool wrong_span = false;  // the byte span does not fit n (an empty tensor has no shorter span)
  if ((mode == size_mode::short_bytes && bytes != 0) || mode == size_mode::long_bytes) {
    bytes = mode == size_mode::long_bytes ? bytes + 1 : bytes - 1;
    wrong_span = true;
  }

  if (mode == size_mode::huge) {
    // spans that claim 2^64-ish elements over a tiny buffer: refused by the size check
    std::vector<float> x(16);
    std::vector<std::byte> b(16);
    const std::size_t huge_n = std::numeric_limits<std::size_t>::max() / elems * elems - elems * (in.byte() % 4);
    if (ok([&] { qmath::dequantize<F>(std::span<const std::byte>(b), std::span<float>(x.data(), huge_n)); }))
      fail("a dequantize of 2^64 elements from 16 bytes passed the size check");
    if (ok([&] { qmath::quantize<F>(std::span<const float>(x.data(), huge_n), std::span<std::byte>(b)); }))
      fail("a quantize of 2^64 elements into 16 bytes passed the size check");
    return;
  }

  const bool quantize = in.byte() & 1;
  if (quantize) {
    const std::vector<float> x = in.fill<float>(n);
    std::vector<std::byte> simd(bytes, std::byte{0xa5}), ref(bytes, std::byte{0x5a});
    const bool a = ok([&] { qmath::quantize<F>(x, simd); });
    const bool b = ok([&] { qmath::quantize<F, scalar_arch>(x, ref); });
    if (a != b) fail("quantize: the SIMD kernel and the scalar reference disagree on failing");
    if (a && wrong_span) fail("quantize accepted a wrong byte span");
    if (a && mode == size_mode::partial_block) fail("quantize accepted a partial block");
    if (a && simd != ref) fail("quantize: the SIMD kernel wrote other bytes than the scalar reference");
  } else {
    const std::vector<std::byte> b = in.fill<std::byte>(bytes);
    std::vector<float> simd(n, -1.0f), ref(n, -2.0f);
    const bool a = ok([&] { qmath::dequantize<F>(b, simd); });
    const bool c = ok([&] { qmath::dequantize<F, scalar_arch>(b, ref); });
    if (a != c) fail("dequantize: the SIMD kernel and the scalar reference disagree on failing");
    if (a && wrong_span) fail("dequantize accepted a wrong byte span");
    if (a && mode == size_mode::partial_block) fail("dequantize accepted a partial block");
    if (a && !same_floats(simd, ref)) fail("dequantize: the SIMD kernel and the scalar reference differ");
  }
}

// qmath::group_int4::quantize / dequantize with a free shape and free span sizes.
void group_int4_api(input in) {
  static constexpr qmath::int4_packing packings[] = {qmath::int4_packing::gptq, qmath::int4_packing::gptq_v2,
                                                     qmath::int4_packing::awq};
  const auto p = packings[in.byte() % 3];
  const std::uint8_t flags = in.byte();
  qmath::group_int4::shape s{};
  if (flags & 0x80) {
    // any 64-bit shape: the checks must not wrap
    s = {std::size_t{in.u32()} << (in.byte() % 33), std::size_t{in.u32()} << (in.byte() % 33),
         std::size_t{1} << (in.byte() % 9)};
  } else {
    s = {8 * static_cast<std::size_t>(1 + in.byte() % 8), 32 * static_cast<std::size_t>(1 + in.byte() % 8),
         std::size_t{32} << (in.byte() % 3)};
  }
  // span sizes: the right ones (when they are small), or off by the flags
  const auto size_or = [&](auto count, unsigned bit) -> std::size_t {
    std::size_t n = 0;
    if (!ok([&] { n = count(); }) || n > (1u << 16)) return in.byte();
    return (flags >> bit & 1) ? n + 1 : n;
  };
  const std::size_t nw = size_or([&] { return s.weights(); }, 0);
  const std::size_t nq = size_or([&] { return s.qweight_words(); }, 1);
  const std::size_t nz = size_or([&] { return s.qzeros_words(); }, 2);
  const std::size_t ns = size_or([&] { return s.scales_count(); }, 3);
  const bool exact = (flags & 0x8f) == 0;
  if (flags & 0x40) {
    const std::vector<float> w = in.fill<float>(nw);
    std::vector<std::int32_t> q1(nq), z1(nz), q2(nq), z2(nz);
    std::vector<qmath::fp16> s1(ns), s2(ns);
    const bool a = ok([&] { qmath::group_int4::quantize(w, s, p, q1, z1, s1); });
    const bool b = ok([&] { qmath::group_int4::quantize<scalar_arch>(w, s, p, q2, z2, s2); });
    if (a != b) fail("group_int4::quantize: architectures disagree on failing");
    if (a && !exact) fail("group_int4::quantize accepted wrong sizes");
    if (a && (q1 != q2 || z1 != z2 || !same_memory(s1.data(), s2.data(), 2 * ns)))
      fail("group_int4::quantize: architectures differ");
  } else {
    const std::vector<std::int32_t> q = in.fill<std::int32_t>(nq), z = in.fill<std::int32_t>(nz);
    const std::vector<qmath::fp16> sc = in.fill<qmath::fp16>(ns);
    std::vector<float> w1(nw), w2(nw);
    const bool a = ok([&] { qmath::group_int4::dequantize(q, z, sc, s, p, w1); });
    const bool b = ok([&] { qmath::group_int4::dequantize<scalar_arch>(q, z, sc, s, p, w2); });
    if (a != b) fail("group_int4::dequantize: architectures disagree on failing");
    if (a && !exact) fail("group_int4::dequantize accepted wrong sizes");
    if (a && !same_floats(w1, w2)) fail("group_int4::dequantize: architectures differ");
  }
}

// bitsandbytes' 4-bit API with free sizes and block size.
void bnb_4bit_api(input in) {
  const auto code = in.byte() & 1 ? qmath::bnb_code::fp4 : qmath::bnb_code::nf4;
  const std::uint8_t flags = in.byte();
  const std::size_t blocksize = std::size_t{1} << (in.byte() % 14);
  const std::size_t n = in.u16() % 4097;
  const std::size_t blocks = blocksize != 0 ? (n + blocksize - 1) / blocksize : 0;
  const std::size_t packed_n = (n + 1) / 2 + (flags & 1), absmax_n = blocks + (flags >> 1 & 1);
  const bool valid = blocksize >= 32 && blocksize <= 4096 && (flags & 3) == 0;
  if (flags & 0x40) {
    const std::vector<float> x = in.fill<float>(n);
    std::vector<std::uint8_t> p1(packed_n), p2(packed_n);
    std::vector<float> a1(absmax_n), a2(absmax_n);
    const bool a = ok([&] { qmath::bnb::quantize_4bit(x, p1, a1, code, blocksize); });
    const bool b = ok([&] { qmath::bnb::quantize_4bit<scalar_arch>(x, p2, a2, code, blocksize); });
    if (a != b) fail("bnb::quantize_4bit: architectures disagree on failing");
    if (a && !valid) fail("bnb::quantize_4bit accepted wrong sizes");
    if (a && (p1 != p2 || !same_floats(a1, a2))) fail("bnb::quantize_4bit: architectures differ");
    if (flags & 0x20) {
      std::vector<std::uint8_t> qa(blocks + (flags >> 2 & 1));
      std::vector<float> a3((blocks + 255) / 256);
      float offset = 0;
      (void)ok([&] { qmath::bnb::quantize_4bit_dq(x, p1, qa, a3, offset, code, blocksize); });
    }
  } else {
    const std::vector<std::uint8_t> p = in.fill<std::uint8_t>(packed_n);
    const std::vector<float> am = in.fill<float>(absmax_n);
    std::vector<float> y1(n), y2(n);
    const bool a = ok([&] { qmath::bnb::dequantize_4bit(p, am, y1, code, blocksize); });
    const bool b = ok([&] { qmath::bnb::dequantize_4bit<scalar_arch>(p, am, y2, code, blocksize); });
    if (a != b) fail("bnb::dequantize_4bit: architectures disagree on failing");
    if (a && !valid) fail("bnb::dequantize_4bit accepted wrong sizes");
    if (a && !same_floats(y1, y2)) fail("bnb::dequantize_4bit: architectures differ");
    if (flags & 0x20) {
      const std::vector<std::uint8_t> qa = in.fill<std::uint8_t>(blocks + (flags >> 2 & 1));
      const std::vector<float> a2 = in.fill<float>((blocks + 255) / 256);
      (void)ok([&] { qmath::bnb::dequantize_4bit_dq(p, qa, a2, 0.5f, y1, code, blocksize); });
    }
  }
}

// LLM.int8 row-wise API: rows and cols free within a small matrix.
void bnb_int8_api(input in) {
  const std::uint8_t flags = in.byte();
  const std::size_t rows = in.byte() % 33, cols = in.u16() % 1025;
  const std::size_t n = rows * cols + (flags & 1), stats = rows + (flags >> 1 & 1);
  const float threshold = (flags & 4) ? static_cast<float>(in.byte()) / 16.0f : 0.0f;
  const bool valid = (flags & 3) == 0;
  if (flags & 0x40) {
    const std::vector<float> x = in.fill<float>(n);
    std::vector<std::int8_t> q1(n), q2(n);
    std::vector<float> s1(stats), s2(stats);
    std::vector<std::size_t> o1, o2;
    const bool a = ok([&] { o1 = qmath::bnb::quantize_int8_rowwise(x, rows, cols, q1, s1, threshold); });
    const bool b = ok([&] { o2 = qmath::bnb::quantize_int8_rowwise<scalar_arch>(x, rows, cols, q2, s2, threshold); });
    if (a != b) fail("bnb::quantize_int8_rowwise: architectures disagree on failing");
    if (a && !valid) fail("bnb::quantize_int8_rowwise accepted wrong sizes");
    if (a && (q1 != q2 || o1 != o2 || !same_floats(s1, s2))) fail("bnb::quantize_int8_rowwise: architectures differ");
  } else {
    const std::vector<std::int8_t> q = in.fill<std::int8_t>(n);
    const std::vector<float> st = in.fill<float>(stats);
    std::vector<float> y1(rows * cols), y2(rows * cols);
    const bool a = ok([&] { qmath::bnb::dequantize_int8_rowwise(q, st, rows, cols, y1); });
    const bool b = ok([&] { qmath::bnb::dequantize_int8_rowwise<scalar_arch>(q, st, rows, cols, y2); });
    if (a != b) fail("bnb::dequantize_int8_rowwise: architectures disagree on failing");
    if (a && !valid) fail("bnb::dequantize_int8_rowwise accepted wrong sizes");
    if (a && !same_floats(y1, y2)) fail("bnb::dequantize_int8_rowwise: architectures differ");
  }
}

// qmath::convert between float and fp16 / bf16 / fp8, both directions.
template <class T>
void convert_api(input in) {
  const std::uint8_t flags = in.byte();
  const std::size_t n = in.u16() % 2049, m = n + (flags & 1);
  if (flags & 2) {
    const std::vector<float> x = in.fill<float>(n);
    std::vector<T> a(m), b(m);
    bool ra = false, rb = false;
    if constexpr (qmath::fp8_format<T>) {
      const auto mode = flags & 4 ? qmath::fp8_overflow::saturate : qmath::fp8_overflow::no_saturate;
      ra = ok([&] { qmath::convert<T>(std::span<const float>(x), std::span<T>(a), mode); });
      rb = ok([&] { qmath::convert<T, scalar_arch>(std::span<const float>(x), std::span<T>(b), mode); });
    } else {
      ra = ok([&] { qmath::convert<T>(std::span<const float>(x), std::span<T>(a)); });
      rb = ok([&] { qmath::convert<T, scalar_arch>(std::span<const float>(x), std::span<T>(b)); });
    }
    if (ra != rb) fail("convert to a narrow type: architectures disagree on failing");
    if (ra && m != n) fail("convert accepted spans of different sizes");
    if (ra && !same_memory(a.data(), b.data(), sizeof(T) * m)) fail("convert to a narrow type: architectures differ");
  } else {
    const std::vector<T> x = in.fill<T>(n);
    std::vector<float> a(m), b(m);
    const bool ra = ok([&] { qmath::convert<T>(std::span<const T>(x), std::span<float>(a)); });
    const bool rb = ok([&] { qmath::convert<T, scalar_arch>(std::span<const T>(x), std::span<float>(b)); });
    if (ra != rb) fail("convert to float: architectures disagree on failing");
    if (ra && m != n) fail("convert accepted spans of different sizes");
    if (ra && !same_floats(a, b)) fail("convert to float: architectures differ");
  }
}

// BitNet absmean ternary and its TQ1_0 / TQ2_0 packing.
void ternary_api(input in) {
  const std::uint8_t flags = in.byte();
  const std::size_t n = in.u16() % 2049;
  const std::vector<float> w = in.fill<float>(n);
  std::vector<std::int8_t> trits(n + (flags & 1));
  float scale = 0;
  const bool q = ok([&] { scale = qmath::formats::ternary_absmean::quantize(w, trits); });
  if (q && (flags & 1)) fail("ternary_absmean::quantize accepted spans of different sizes");
  if (!q) {
    for (auto& t : trits) t = static_cast<std::int8_t>(static_cast<int>(in.byte() % 4) - 1);  // -1..2
    scale = 1.0f;
  }
  std::vector<float> back(trits.size() + (flags >> 1 & 1));
  (void)ok([&] { qmath::formats::ternary_absmean::dequantize(trits, scale, back); });
  const std::size_t blocks = trits.size() / 256;
  std::vector<std::byte> tq2(blocks * sizeof(qmath::formats::tq2_0::block) + (flags >> 2 & 1));
  std::vector<std::byte> tq1(blocks * sizeof(qmath::formats::tq1_0::block) + (flags >> 3 & 1));
  (void)ok([&] { qmath::formats::ternary_absmean::pack<qmath::formats::tq2_0>(trits, scale, tq2); });
  (void)ok([&] { qmath::formats::ternary_absmean::pack<qmath::formats::tq1_0>(trits, scale, tq1); });
}

using entry = void (*)(input);
constexpr entry entries[] = {
    block_format<qmath::formats::q8_0>,
    block_format<qmath::formats::q4_0>,
    block_format<qmath::formats::q4_1>,
    block_format<qmath::formats::q5_0>,
    block_format<qmath::formats::q5_1>,
    block_format<qmath::formats::iq4_nl>,
    block_format<qmath::formats::q2_k>,
    block_format<qmath::formats::tq1_0>,
    block_format<qmath::formats::tq2_0>,
    block_format<qmath::formats::int2_group<64>>,
    block_format<qmath::formats::int2_group<32>>,
    block_format<qmath::formats::nf4>,
    block_format<qmath::formats::fp4>,
    block_format<qmath::formats::nf4_dq>,
    block_format<qmath::formats::fp4_dq>,
    block_format<qmath::formats::bnb_4bit<qmath::bnb_code::nf4, 4096, true>>,
    block_format<qmath::formats::int8_rowwise<64>>,
    block_format<qmath::formats::int8_rowwise<7>>,
    block_format<qmath::formats::gptq_int4<64, 32>>,
    block_format<qmath::formats::gptq_v2_int4<128, 64>>,
    block_format<qmath::formats::awq_int4<256, 128>>,
    group_int4_api,
    bnb_4bit_api,
    bnb_int8_api,
    convert_api<qmath::fp16>,
    convert_api<qmath::bf16>,
    convert_api<qmath::fp8_e4m3>,
    convert_api<qmath::fp8_e5m2>,
    ternary_api,
};
constexpr std::size_t entry_count = sizeof(entries) / sizeof(entries[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  input in{data, size};
  entries[in.byte() % entry_count](in);
  return 0;
}
