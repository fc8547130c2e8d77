/* The C API (include/edgeopt/c_api.h) from a program compiled as C, not C++.
 *
 *   c_api_test input MODEL X.npy         writes a deterministic input for MODEL's first input
 *                                        (dims the model leaves open set to 1)
 *   c_api_test compare MODEL X.npy Y.npy runs MODEL on X through the C API (from the file with
 *                                        caller buffers, from memory with returned buffers, by
 *                                        position and by name) and checks that the first output
 *                                        equals Y, written by `edgeopt run` with the same
 *                                        providers, bit for bit
 *   c_api_test errors MODEL              the error paths: missing file, corrupt bytes, wrong
 *                                        input size, shape and name, a small output buffer, the
 *                                        per-thread error string
 * Prints one line per check and exits non-zero on the first failure; the ctest entries are in
 * tests/CMakeLists.txt. Handles float32 .npy files only (all the bundled models take).
 */
#include "edgeopt/c_api.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond, ...)                       \
  do {                                         \
    if (cond) {                                \
      printf("ok: %s\n", #cond);               \
    } else {                                   \
      printf("FAILED: %s: ", #cond);           \
      printf(__VA_ARGS__);                     \
      printf(" (%s)\n", edgeopt_last_error()); \
      ++failures;                              \
    }                                          \
  } while (0)

typedef struct {
  size_t rank;
  int64_t shape[EDGEOPT_MAX_RANK];
  float* data;
  size_t count;
} npy_f32;

/* A float32, little-endian, C-order .npy file (format versions 1 and 2). */
static int npy_read(const char* path, npy_f32* out) {
  FILE* f = fopen(path, "rb");
  unsigned char magic[8];
  uint32_t header_len = 0;
  char* header = NULL;
  int ok = 0;
  memset(out, 0, sizeof(*out));
  if (!f) return 0;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) goto done;
  if (magic[6] == 1) {
    unsigned char b[2];
    if (fread(b, 1, 2, f) != 2) goto done;
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) goto done;
    header_len = b[0] | (b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
  }
  header = calloc(header_len + 1, 1);
  if (!header || fread(header, 1, header_len, f) != header_len) goto done;
  if (!strstr(header, "'<f4'") || strstr(header, "'fortran_order': True")) goto done;
  {
    const char* p = strstr(header, "'shape': (");
    if (!p) goto done;
    p += strlen("'shape': (");
    out->count = 1;
    while (*p && *p != ')') {
      char* end;
      long long d = strtoll(p, &end, 10);
      if (end == p) break;
      if (out->rank == EDGEOPT_MAX_RANK) goto done;
      out->shape[out->rank++] = d;
      out->count *= (size_t)d;
      p = end;
      while (*p == ',' || *p == ' ') ++p;
    }
  }
  out->data = malloc(out->count * sizeof(float) + 1);
  if (!out->data || fread(out->data, sizeof(float), out->count, f) != out->count) goto done;
  ok = 1;
done:
  free(header);
  fclose(f);
  if (!ok) {
    free(out->data);
    out->data = NULL;
  }
  return ok;
}

static int npy_write(const char* path, const int64_t* shape, size_t rank, const float* data,
                     size_t count) {
  char dict[256];
  char header[256];
  size_t n = 0, total;
  size_t i;
  FILE* f;
  n += (size_t)snprintf(dict + n, sizeof(dict) - n,
                        "{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (");
  for (i = 0; i < rank; ++i)
    n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%lld,%s", (long long)shape[i],
                          i + 1 < rank ? " " : "");
  n += (size_t)snprintf(dict + n, sizeof(dict) - n, "), }");
  /* magic (6) + version (2) + length (2) + dict + padding + '\n' = a multiple of 64 */
  total = (10 + n + 1 + 63) / 64 * 64;
  memcpy(header, "\x93NUMPY\x01\x00", 8);
  header[8] = (char)((total - 10) & 0xff);
  header[9] = (char)((total - 10) >> 8);
  memcpy(header + 10, dict, n);
  memset(header + 10 + n, ' ', total - 10 - n - 1);
  header[total - 1] = '\n';
  f = fopen(path, "wb");
  if (!f) return 0;
  if (fwrite(header, 1, total, f) != total || fwrite(data, sizeof(float), count, f) != count) {
    fclose(f);
    return 0;
  }
  return fclose(f) == 0;
}

static edgeopt_session* open_session(const char* model) {
  edgeopt_options opts;
  edgeopt_session* s = NULL;
  edgeopt_options_init(&opts);
  if (edgeopt_session_create(model, &opts, &s) != EDGEOPT_OK) {
    printf("FAILED: edgeopt_session_create(%s): %s\n", model, edgeopt_last_error());
    exit(1);
  }
  return s;
}

static int write_input(const char* model, const char* path) {
  edgeopt_session* s = open_session(model);
  edgeopt_tensor_info info;
  size_t count = 1, i;
  float* data;
  uint32_t state = 12345;
  int ok;
  if (edgeopt_session_input_info(s, 0, &info) != EDGEOPT_OK || info.dtype != EDGEOPT_FLOAT) {
    printf("FAILED: input 0 of %s is not float32\n", model);
    return 1;
  }
  for (i = 0; i < info.rank; ++i) {
    if (info.shape[i] < 0) info.shape[i] = 1;
    count *= (size_t)info.shape[i];
  }
  data = malloc(count * sizeof(float));
  /* A linear congruential generator: the same values on every machine. */
  for (i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u;
    data[i] = (float)(state >> 8) / 16777216.0f;
  }
  ok = npy_write(path, info.shape, info.rank, data, count);
  free(data);
  edgeopt_session_destroy(s);
  printf("%s %s\n", ok ? "wrote" : "FAILED: could not write", path);
  return ok ? 0 : 1;
}

static edgeopt_tensor input_of(const npy_f32* x, const char* name) {
  edgeopt_tensor t;
  memset(&t, 0, sizeof(t));
  t.name = name;
  t.dtype = EDGEOPT_FLOAT;
  t.rank = x->rank;
  memcpy(t.shape, x->shape, sizeof(int64_t) * x->rank);
  t.data = x->data;
  t.nbytes = x->count * sizeof(float);
  return t;
}

static void check_equal(const char* what, const edgeopt_tensor* out, const npy_f32* expected) {
  size_t i, differ = 0;
  int same_shape = out->rank == expected->rank && out->dtype == EDGEOPT_FLOAT;
  for (i = 0; same_shape && i < out->rank; ++i) same_shape = out->shape[i] == expected->shape[i];
  CHECK(same_shape, "%s: output shape differs from edgeopt run's", what);
  CHECK(out->nbytes == expected->count * sizeof(float), "%s: %zu bytes", what, out->nbytes);
  if (!same_shape || out->nbytes != expected->count * sizeof(float)) return;
  for (i = 0; i < expected->count; ++i)
    if (memcmp((const float*)out->data + i, expected->data + i, sizeof(float)) != 0) ++differ;
  CHECK(differ == 0, "%s: %zu of %zu values differ from edgeopt run's", what, differ,
        expected->count);
  printf("%s: %zu values equal edgeopt run's, first %g\n", what, expected->count,
         (double)expected->data[0]);
}

static char* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  char* bytes;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  bytes = malloc((size_t)n);
  if (bytes && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
    free(bytes);
    bytes = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return bytes;
}

static int compare(const char* model, const char* x_path, const char* y_path) {
  npy_f32 x, y;
  edgeopt_session* s;
  edgeopt_tensor_info in_info, out_info;
  edgeopt_tensor in, out;
  float* buffer;
  char* bytes;
  size_t size = 0;
  if (!npy_read(x_path, &x) || !npy_read(y_path, &y)) {
    printf("FAILED: cannot read %s or %s as float32 .npy\n", x_path, y_path);
    return 1;
  }
  s = open_session(model);
  CHECK(edgeopt_session_input_count(s) == 1, "input count");
  CHECK(edgeopt_session_output_count(s) >= 1, "output count");
  CHECK(edgeopt_session_input_info(s, 0, &in_info) == EDGEOPT_OK, "input info");
  CHECK(edgeopt_session_output_info(s, 0, &out_info) == EDGEOPT_OK, "output info");
  CHECK(out_info.dtype == EDGEOPT_FLOAT, "output dtype %d", (int)out_info.dtype);
  printf("model %s: input '%s' rank %zu, output '%s' rank %zu\n", model, in_info.name, in_info.rank,
         out_info.name, out_info.rank);

  /* Memory: about the file's tensors (the providers' rewrites may add packed forms, e.g. int8
   * biases), no arena before the first run. */
  {
    size_t weights = 0, arena = 1;
    FILE* f = fopen(model, "rb");
    long file_bytes = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) file_bytes = ftell(f);
    if (f) fclose(f);
    CHECK(edgeopt_session_memory(s, &weights, &arena) == EDGEOPT_OK, "memory");
    CHECK(2 * (long)weights >= file_bytes && 2 * (long)weights <= 3 * file_bytes,
          "weights %zu bytes, file %ld", weights, file_bytes);
    CHECK(arena == 0, "arena %zu bytes before any run", arena);
  }

  /* From the file, by position, into a caller's buffer. */
  in = input_of(&x, NULL);
  buffer = malloc(y.count * sizeof(float));
  memset(&out, 0, sizeof(out));
  out.data = buffer;
  out.nbytes = y.count * sizeof(float);
  CHECK(edgeopt_session_run(s, &in, 1, &out, 1) == EDGEOPT_OK, "run into a caller's buffer");
  CHECK(out.data == buffer, "the caller's buffer is used");
  check_equal("file, caller's buffer", &out, &y);
  {
    size_t arena = 0;
    CHECK(edgeopt_session_memory(s, NULL, &arena) == EDGEOPT_OK && arena > 0,
          "arena %zu bytes after a run", arena);
  }

  /* By name, into a returned buffer. */
  in = input_of(&x, in_info.name);
  memset(&out, 0, sizeof(out));
  CHECK(edgeopt_session_run(s, &in, 1, &out, 1) == EDGEOPT_OK, "run by name");
  check_equal("file, by name, returned buffer", &out, &y);
  edgeopt_free(out.data);
  edgeopt_session_destroy(s);

  /* From memory. */
  bytes = read_file(model, &size);
  CHECK(bytes != NULL, "read %s", model);
  s = NULL;
  CHECK(edgeopt_session_create_from_memory(bytes, size, NULL, &s) == EDGEOPT_OK,
        "session from memory");
  free(bytes); /* the session keeps no reference to the bytes */
  if (s) {
    in = input_of(&x, NULL);
    memset(&out, 0, sizeof(out));
    CHECK(edgeopt_session_run(s, &in, 1, &out, 1) == EDGEOPT_OK, "run from memory");
    check_equal("memory, returned buffer", &out, &y);
    edgeopt_free(out.data);
    edgeopt_session_destroy(s);
  }
  free(buffer);
  free(x.data);
  free(y.data);
  return failures ? 1 : 0;
}

static void* other_thread(void* arg) {
  /* Errors are kept per thread: this thread has had none. */
  *(int*)arg = strcmp(edgeopt_last_error(), "") == 0;
  return NULL;
}

static int contains(const char* text, const char* part) { return strstr(text, part) != NULL; }

static int errors(const char* model) {
  edgeopt_session* s = (edgeopt_session*)&failures; /* must be reset to NULL on failure */
  edgeopt_status st;
  edgeopt_tensor_info info;
  edgeopt_tensor in, out;
  float* x;
  size_t count = 1, i;
  pthread_t thread;
  int clean = 0;
  const char corrupt[] = "this is not an ONNX model";

  st = edgeopt_session_create("no/such/model.onnx", NULL, &s);
  CHECK(st == EDGEOPT_ERR_INVALID_INPUT, "missing file: %s", edgeopt_status_name(st));
  CHECK(s == NULL, "no session after a failure");
  CHECK(contains(edgeopt_last_error(), "no/such/model.onnx"), "the message names the file");
  CHECK(strchr(edgeopt_last_error(), '\n') == NULL, "one line");
  CHECK(pthread_create(&thread, NULL, other_thread, &clean) == 0 &&
            pthread_join(thread, NULL) == 0 && clean,
        "another thread's error string is its own");

  st = edgeopt_session_create_from_memory(corrupt, sizeof(corrupt), NULL, &s);
  CHECK(st == EDGEOPT_ERR_INVALID_INPUT, "corrupt bytes: %s", edgeopt_status_name(st));
  st = edgeopt_session_create(NULL, NULL, &s);
  CHECK(st == EDGEOPT_ERR_INVALID_ARGUMENT, "NULL path: %s", edgeopt_status_name(st));
  st = edgeopt_session_memory(NULL, NULL, NULL);
  CHECK(st == EDGEOPT_ERR_INVALID_ARGUMENT, "memory of a NULL session: %s",
        edgeopt_status_name(st));

  s = open_session(model);
  CHECK(edgeopt_session_input_info(s, 5, &info) == EDGEOPT_ERR_INVALID_ARGUMENT,
        "input index out of range");
  edgeopt_session_input_info(s, 0, &info);
  for (i = 0; i < info.rank; ++i) {
    if (info.shape[i] < 0) info.shape[i] = 1;
    count *= (size_t)info.shape[i];
  }
  x = calloc(count, sizeof(float));
  memset(&in, 0, sizeof(in));
  in.dtype = EDGEOPT_FLOAT;
  in.rank = info.rank;
  memcpy(in.shape, info.shape, sizeof(int64_t) * info.rank);
  in.data = x;

  in.nbytes = count * sizeof(float) - 4;
  memset(&out, 0, sizeof(out));
  st = edgeopt_session_run(s, &in, 1, &out, 1);
  CHECK(st == EDGEOPT_ERR_INVALID_ARGUMENT, "wrong input size: %s", edgeopt_status_name(st));
  CHECK(contains(edgeopt_last_error(), info.name), "the message names the input");
  CHECK(out.data == NULL, "no output allocated on failure");

  in.nbytes = count * sizeof(float);
  in.name = "no_such_input";
  st = edgeopt_session_run(s, &in, 1, &out, 1);
  CHECK(st == EDGEOPT_ERR_INVALID_ARGUMENT, "wrong name: %s", edgeopt_status_name(st));
  CHECK(contains(edgeopt_last_error(), "no_such_input"), "the message names the wrong name");

  /* The right byte count in the wrong shape: the session refuses it. */
  in.name = NULL;
  in.rank = 2;
  in.shape[0] = 1;
  in.shape[1] = (int64_t)count;
  st = edgeopt_session_run(s, &in, 1, &out, 1);
  CHECK(st == EDGEOPT_ERR_INVALID_INPUT, "wrong shape: %s", edgeopt_status_name(st));

  in.rank = info.rank;
  memcpy(in.shape, info.shape, sizeof(int64_t) * info.rank);
  out.data = x; /* far too small for the output? only 4 bytes claimed */
  out.nbytes = 4;
  st = edgeopt_session_run(s, &in, 1, &out, 1);
  CHECK(st == EDGEOPT_ERR_BUFFER_TOO_SMALL, "small output buffer: %s", edgeopt_status_name(st));
  CHECK(out.nbytes > 4, "nbytes says the size needed (%zu)", out.nbytes);

  memset(&out, 0, sizeof(out));
  CHECK(edgeopt_session_run(s, &in, 1, &out, 2) == EDGEOPT_ERR_INVALID_ARGUMENT,
        "more outputs asked for than the model has");
  CHECK(edgeopt_session_run(s, &in, 1, &out, 1) == EDGEOPT_OK, "a valid run after the errors");
  edgeopt_free(out.data);
  edgeopt_session_destroy(s);
  edgeopt_session_destroy(NULL);
  free(x);
  return failures ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "input") == 0) return write_input(argv[2], argv[3]);
  if (argc == 5 && strcmp(argv[1], "compare") == 0) return compare(argv[2], argv[3], argv[4]);
  if (argc == 3 && strcmp(argv[1], "errors") == 0) return errors(argv[2]);
  fprintf(stderr,
          "usage: c_api_test input MODEL X.npy | compare MODEL X.npy Y.npy | errors MODEL\n");
  return 2;
}
