// Runs a kernel off the JS thread and settles a Promise with its result.
// Inputs stay alive through references to the JS values that own their memory.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace hybridgl::napi {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Finish = std::function<Napi::Value(Napi::Env)>;

  // keepAlive: JS values whose backing memory `work` reads or writes.
  static Napi::Promise Run(Napi::Env env, const std::vector<Napi::Value>& keepAlive, Work work, Finish finish) {
    auto* w = new PromiseWorker(env, std::move(work), std::move(finish));
    for (const auto& v : keepAlive)
      if (v.IsObject()) w->refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    auto promise = w->deferred_.Promise();
    w->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const std::bad_alloc&) {
      SetError("out of memory");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(finish_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, e.what()).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  PromiseWorker(Napi::Env env, Work work, Finish finish)
      : Napi::AsyncWorker(env, "hybridgl"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        finish_(std::move(finish)) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Finish finish_;
  std::vector<Napi::ObjectReference> refs_;
};

// A Finish that resolves with `value`, an object created before the work (held by a persistent reference).
inline PromiseWorker::Finish resolveWith(Napi::Value value) {
  auto ref = std::make_shared<Napi::ObjectReference>(Napi::Persistent(value.As<Napi::Object>()));
  return [ref](Napi::Env) -> Napi::Value { return ref->Value(); };
}

// Runs `fn` and converts C++ exceptions into JS errors (a failed allocation into a RangeError).
template <typename Fn>
auto guard(Napi::Env env, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// Runs work now and returns finish's value, or runs it off the JS thread and returns a Promise of that value.
inline Napi::Value runSyncOrAsync(Napi::Env env, bool async, const std::vector<Napi::Value>& keepAlive,
                                  PromiseWorker::Work work, PromiseWorker::Finish finish) {
  if (async) return PromiseWorker::Run(env, keepAlive, std::move(work), std::move(finish));
  return guard(env, [&] {
    work();
    return finish(env);
  });
}

}  // namespace hybridgl::napi
