// Each kernel family's glue registers its functions on the addon's exports.
#pragma once

#include <napi.h>

namespace hybridgl::napi {

void registerBackend(Napi::Env env, Napi::Object exports);
void registerMaskOps(Napi::Env env, Napi::Object exports);
void registerImagePrep(Napi::Env env, Napi::Object exports);
void registerRle(Napi::Env env, Napi::Object exports);
void registerGaussianBlur(Napi::Env env, Napi::Object exports);
void registerClipInputs(Napi::Env env, Napi::Object exports);
void registerMaskGrid(Napi::Env env, Napi::Object exports);
void registerHeatmap(Napi::Env env, Napi::Object exports);
void registerSamPost(Napi::Env env, Napi::Object exports);
void registerSamCrops(Napi::Env env, Napi::Object exports);
void registerHeap(Napi::Env env, Napi::Object exports);

}  // namespace hybridgl::napi
