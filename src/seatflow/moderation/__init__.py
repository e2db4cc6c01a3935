"""The moderation gate's building blocks, one concept per module.

- ``sniff``: what a file is, from its first bytes (image, video, or neither);
- ``fetch``: bring a client's media URL into the media store (size, type and address limits);
- ``probe``: image thumbnails, video duration and the keyframe strip (Pillow, PyAV);
- ``prescreen``: the machine score (NudeNet's ONNX detector on the CPU; keyword lists for text);
- ``forecast``: which queued items will breach their deadline, and how many seats would prevent it;
- ``stats``: time-to-decision percentiles and the share decided within the deadline.

The use cases that tie them to the database are in ``seatflow.services.moderation*``.
"""
