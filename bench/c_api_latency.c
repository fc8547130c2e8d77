/* Latency of a model through libedgeopt_rt's C API, for comparing two builds of the library
 * (e.g. the reference provider at -O3 and at -Os, docs/package.md "Sizes"):
 *   cc -O2 -Iinclude bench/c_api_latency.c -o c_api_latency -LDIR -ledgeopt_rt -Wl,-rpath,DIR
 *   ./c_api_latency MODEL PROVIDERS RUNS
 * One thread; every input float32 with its symbolic dims set to 1, filled with a fixed pattern;
 * 3 warm-up runs, then RUNS timed runs; prints the median in ms. */
#include <edgeopt/c_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
  if (argc != 4 || atoi(argv[3]) <= 0) {
    fprintf(stderr, "usage: %s MODEL PROVIDERS RUNS\n", argv[0]);
    return 2;
  }
  edgeopt_options options;
  edgeopt_options_init(&options);
  options.providers = argv[2];
  edgeopt_session* session = NULL;
  if (edgeopt_session_create(argv[1], &options, &session) != EDGEOPT_OK) {
    fprintf(stderr, "%s\n", edgeopt_last_error());
    return 2;
  }
  const size_t n_inputs = edgeopt_session_input_count(session);
  edgeopt_tensor* inputs = calloc(n_inputs, sizeof(edgeopt_tensor));
  for (size_t i = 0; i < n_inputs; ++i) {
    edgeopt_tensor_info info;
    edgeopt_session_input_info(session, i, &info);
    if (info.dtype != EDGEOPT_FLOAT) {
      fprintf(stderr, "input '%s' is not float32\n", info.name);
      return 2;
    }
    size_t count = 1;
    inputs[i].dtype = info.dtype;
    inputs[i].rank = info.rank;
    for (size_t d = 0; d < info.rank; ++d) {
      inputs[i].shape[d] = info.shape[d] < 0 ? 1 : info.shape[d];
      count *= (size_t)inputs[i].shape[d];
    }
    float* data = malloc(count * sizeof(float));
    for (size_t k = 0; k < count; ++k) data[k] = (float)((k * 7919) % 255) / 255.0f - 0.5f;
    inputs[i].data = data;
    inputs[i].nbytes = count * sizeof(float);
  }
  const int runs = atoi(argv[3]);
  double* ms = malloc(runs * sizeof(double));
  for (int r = -3; r < runs; ++r) {
    edgeopt_tensor output = {0};
    const double start = now_ms();
    if (edgeopt_session_run(session, inputs, n_inputs, &output, 1) != EDGEOPT_OK) {
      fprintf(stderr, "%s\n", edgeopt_last_error());
      return 1;
    }
    if (r >= 0) ms[r] = now_ms() - start;
    edgeopt_free(output.data);
  }
  qsort(ms, runs, sizeof(double), compare_doubles);
  printf("%s providers=%s median %.3f ms over %d runs\n", argv[1], argv[2], ms[runs / 2], runs);
  for (size_t i = 0; i < n_inputs; ++i) free(inputs[i].data);
  free(inputs);
  free(ms);
  edgeopt_session_destroy(session);
  return 0;
}
