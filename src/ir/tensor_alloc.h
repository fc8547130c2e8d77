// How Tensor storage is allocated (internal to src/ir).
#pragma once

namespace edgeopt {

// While one is alive on a thread, tensors of 1 MiB or more that this thread allocates get a
// mapping of their own instead of heap memory. The loader uses it for a model's weights: the
// heap would keep the pages of weights a kernel frees after prepacking them (freed blocks
// between live ones stay resident), a mapping gives them back at once.
class MapLargeTensors {
 public:
  MapLargeTensors();
  ~MapLargeTensors();
  MapLargeTensors(const MapLargeTensors&) = delete;
  MapLargeTensors& operator=(const MapLargeTensors&) = delete;
};

}  // namespace edgeopt
