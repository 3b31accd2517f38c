# PyTorch definitions of the HybridGL backbones (SAM, CLIP ViT-B/16 trunk/heads/text, GEM) for ONNX export.
