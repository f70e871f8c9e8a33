"""Stage 0: a generated stand-in for ImageNet-1K and the pretraining of the video backbones.

* :mod:`~musclemap_lib.pretrain.images`: the offline, deterministic image generators
  (formula-driven fractals; rendered people in random poses of the training activities only).
* :mod:`~musclemap_lib.pretrain.run`: one pretraining run of an image version of a backbone.
* :mod:`~musclemap_lib.pretrain.transfer`: the image model of each backbone and the loading of its
  weights into the video model (I3D inflation for the ResNets, centred patch embedding for
  MViTv2), with a report of what was loaded, inflated or left at init.

PAPER: "All the video models are pre-trained on ImageNet1K" (section 4.5). DEVIATION: nothing is
downloaded; the images are generated here and carry no activity or muscle label.
"""
