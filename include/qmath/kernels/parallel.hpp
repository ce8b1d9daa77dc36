#pragma once
// Parallelism for the array API: the one place where an array call is split
// into tasks.
//
//   qmath::quantize<F>(in, out, qmath::threads{n})     // n threads (0: every core)
//   qmath::quantize<F>(in, out, my_executor)           // the caller's threads
//   (and dequantize<F>, convert)
//
// Work is split into contiguous chunks of whole blocks (of whole 64-element
// runs for convert), one chunk per task, so the bytes written do not depend on
// the number of threads: every block is encoded on its own. Arrays too small
// to repay starting a thread run on the calling thread alone
// (min_elements_per_task), so an in-cache call is never slower than one
// thread. A task that throws (a NaN in the input) makes the call rerun on the
// calling thread, which then throws exactly the single-threaded error, block
// index included.
//
// An executor is any object with
//   std::size_t concurrency() const;                 // tasks worth running at once
//   void run(std::size_t tasks, qmath::task_ref f);  // f(i) for every i < tasks, returns when all are done
// (qmath::threads is one, starting std::threads per call.) `run` may call
// f(i) on any thread, in any order, concurrently.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <exception>
#include <memory>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "qmath/config.hpp"
#include "qmath/kernels/detail/call_size.hpp"

namespace qmath {

// A non-owning reference to a callable void(std::size_t): what an executor
// runs. Valid while the call that handed it out lasts.
class task_ref {
 public:
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, task_ref> && std::invocable<F&, std::size_t>)
  task_ref(F& f) noexcept  // NOLINT: implicit on purpose, like std::function_ref
      : object_(std::addressof(f)), call_([](void* o, std::size_t i) { (*static_cast<F*>(o))(i); }) {}

  void operator()(std::size_t i) const { call_(object_, i); }

 private:
  void* object_;
  void (*call_)(void*, std::size_t);
};

template <class E>
concept executor = requires(E& e, const E& ce, std::size_t n, task_ref f) {
  { ce.concurrency() } -> std::convertible_to<std::size_t>;
  e.run(n, f);
};

// Runs tasks on `count` threads: the calling one and count - 1 started for
// the call. 0 means std::thread::hardware_concurrency().
struct threads {
  unsigned count = 0;

  constexpr threads() noexcept = default;
  constexpr explicit threads(unsigned n) noexcept : count(n) {}

  std::size_t concurrency() const noexcept {
    if (count != 0) return count;
    const unsigned cores = std::thread::hardware_concurrency();
    return cores != 0 ? cores : 1;
  }

  // Rethrows the first exception a task threw, once every task has ended.
  void run(std::size_t tasks, task_ref f) const {
    if (tasks == 0) return;
    std::vector<std::exception_ptr> failures(tasks);
    const auto guarded = [&](std::size_t i) noexcept {
      try {
        f(i);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    };
    std::vector<std::thread> started;
    started.reserve(tasks - 1);
    std::size_t i = 1;
    try {
      for (; i < tasks; ++i) started.emplace_back(guarded, i);
    } catch (const std::system_error&) {  // no more threads: the rest run here
      for (; i < tasks; ++i) guarded(i);
    }
    guarded(0);
    for (auto& t : started) t.join();
    for (const auto& e : failures)
      if (e) std::rethrow_exception(e);
  }
};
static_assert(executor<threads>);

namespace detail {

// Elements below which an extra task does not repay its start (a thread start
// is some 20-50 us; a kernel does 256 Ki elements in about that time).
inline constexpr std::size_t min_elements_per_task = std::size_t{256} << 10;

// Splits `units` (blocks, or runs of elements) into at most ex.concurrency()
// contiguous chunks of whole multiples of `align` units (the last one takes the
// rest), each at least `min_units` long, and calls body(first, end) for each,
// on the executor. Returns false when a task threw (the caller reruns the call
// on its own thread to report the error); true otherwise.
template <executor E, class Body>
bool for_each_chunk(E& ex, std::size_t units, std::size_t min_units, std::size_t align, std::size_t elements,
                    Body&& body) {
  const std::size_t by_size = min_units == 0 ? units : units / min_units;
  const std::size_t tasks = std::max<std::size_t>(1, std::min<std::size_t>(ex.concurrency(), by_size));
  if (tasks == 1) {
    body(std::size_t{0}, units);
    return true;
  }
  std::size_t per_task = (units + tasks - 1) / tasks;
  per_task = (per_task + align - 1) / align * align;
  std::vector<char> failed(tasks, 0);
  auto task = [&](std::size_t i) {
    const std::size_t first = std::min(units, i * per_task);
    const std::size_t end = std::min(units, first + per_task);
    if (first == end) return;
    const std::size_t saved = whole_call_elements;
    whole_call_elements = elements;
    try {
      body(first, end);
    } catch (...) {
      failed[i] = 1;
    }
    whole_call_elements = saved;
  };
  ex.run(tasks, task_ref(task));
  return std::find(failed.begin(), failed.end(), 1) == failed.end();
}

}  // namespace detail
}  // namespace qmath
