// libFuzzer target for the lesson 13 frame decoder: any bytes, cut into any
// pieces, under any limit, must never crash, never allocate what a header merely
// claims (run with -malloc_limit_mb), and must decode exactly what was framed.
//
//   cmake -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCOURSE_FUZZ=ON \
//         -DCOURSE_SANITIZE=address,undefined && cmake --build build-fuzz --target fuzz_framing
//   build-fuzz/fuzz/fuzz_framing -max_total_time=30 -malloc_limit_mb=64
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>

#include "course/framing.hpp"

namespace {

void check(bool condition) {
    if (!condition) std::abort();  // libFuzzer reports the input that got here
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // Byte 0 picks the limit (including "anything 4 bytes can say"), byte 1 the piece sizes.
    constexpr std::size_t limits[] = {
        0, 1, 7, 300, course::default_max_frame, course::largest_frame};
    const std::size_t max_size = limits[data[0] % std::size(limits)];
    const std::size_t piece = 1 + data[1] % 17;
    data += 2;
    size -= 2;

    course::FrameDecoder decoder(max_size);
    std::string reencoded;  // every frame decoded, framed again
    std::size_t fed = 0;
    bool refused = false;
    while (fed < size && !refused) {
        const std::size_t n = std::min(piece + fed % 5, size - fed);
        try {
            decoder.feed(data + fed, n);
        } catch (const course::FrameTooLarge& e) {
            check(e.length > max_size);
            refused = true;
        }
        fed += n;
        while (auto frame = decoder.next()) {
            check(frame->size() <= max_size);
            reencoded += course::encode_frame(*frame);
        }
    }
    check(decoder.failed() == refused);
    const std::string input(reinterpret_cast<const char*>(data), size);
    // What came out, framed again, is exactly the input's leading complete frames.
    check(input.compare(0, reencoded.size(), reencoded) == 0);
    if (!refused) check(reencoded.size() + decoder.partial_bytes() == size);
    return 0;
}
