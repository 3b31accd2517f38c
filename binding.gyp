{
  "targets": [
    {
      "target_name": "hybridgl",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/hybridgl.node"],
          "action": ["node", "scripts/build-native.mjs", "--force", "--out", "build/cmake", "--copy-to", "<(PRODUCT_DIR)"]
        }
      ]
    }
  ]
}
