/* edgeopt runtime C API (libedgeopt_rt): load an ONNX model, ask what it takes and returns, run
 * it. For apps on the device and for other languages; C99, no exceptions cross it.
 *
 *   edgeopt_options opts;
 *   edgeopt_options_init(&opts);
 *   edgeopt_session* s = NULL;
 *   if (edgeopt_session_create("model.onnx", &opts, &s) != EDGEOPT_OK) {
 *     fprintf(stderr, "%s\n", edgeopt_last_error());
 *     return 1;
 *   }
 *   edgeopt_tensor in = {0}, out = {0};   // in: dtype, rank, shape, data, nbytes filled in
 *   edgeopt_session_run(s, &in, 1, &out, 1);  // out.data == NULL: the library allocates it
 *   ...
 *   edgeopt_free(out.data);
 *   edgeopt_session_destroy(s);
 *
 * Every function that can fail returns an edgeopt_status; on failure edgeopt_last_error() gives
 * a one-line message naming the model, input or output involved. The message is kept per
 * thread, so threads do not see each other's errors. A session may be used from several threads;
 * its runs are serialised.
 */
#ifndef EDGEOPT_C_API_H_
#define EDGEOPT_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EDGEOPT_API __attribute__((visibility("default")))
#else
#define EDGEOPT_API
#endif

typedef enum edgeopt_status {
  EDGEOPT_OK = 0,
  /* A null pointer, an index out of range, an unknown input name, a buffer of the wrong size. */
  EDGEOPT_ERR_INVALID_ARGUMENT = 1,
  /* The model or the input data is wrong: missing or corrupt file, wrong dtype or shape. */
  EDGEOPT_ERR_INVALID_INPUT = 2,
  /* A valid model this build cannot run (an op no provider has, an unknown provider). */
  EDGEOPT_ERR_UNSUPPORTED = 3,
  /* A caller's output buffer is smaller than the output (the needed size is in the message and
   * in the tensor's nbytes). */
  EDGEOPT_ERR_BUFFER_TOO_SMALL = 4,
  EDGEOPT_ERR_OUT_OF_MEMORY = 5,
  /* A bug in edgeopt. */
  EDGEOPT_ERR_INTERNAL = 6
} edgeopt_status;

/* Element types; the values are ONNX's TensorProto.DataType. */
typedef enum edgeopt_dtype {
  EDGEOPT_UNDEFINED = 0,
  EDGEOPT_FLOAT = 1,
  EDGEOPT_UINT8 = 2,
  EDGEOPT_INT8 = 3,
  EDGEOPT_UINT16 = 4,
  EDGEOPT_INT16 = 5,
  EDGEOPT_INT32 = 6,
  EDGEOPT_INT64 = 7,
  EDGEOPT_BOOL = 9,
  EDGEOPT_FLOAT16 = 10,
  EDGEOPT_DOUBLE = 11,
  EDGEOPT_UINT32 = 12,
  EDGEOPT_UINT64 = 13,
  EDGEOPT_BFLOAT16 = 16
} edgeopt_dtype;

#define EDGEOPT_MAX_RANK 8

typedef struct edgeopt_session edgeopt_session;

typedef struct edgeopt_options {
  int threads; /* threads per run; <= 0 means 1 */
  /* Providers, comma-separated, best first ("xnnpack,reference"); NULL or "" = this platform's
   * default (onednn on x86-64, xnnpack elsewhere, then reference). */
  const char* providers;
} edgeopt_options;

/* Name, element type and shape of a model input or output. A dim of -1 is not fixed by the
 * model (symbolic or unknown). `name` stays valid as long as the session. */
typedef struct edgeopt_tensor_info {
  const char* name;
  edgeopt_dtype dtype;
  size_t rank;
  int64_t shape[EDGEOPT_MAX_RANK];
} edgeopt_tensor_info;

/* A tensor given to or returned by edgeopt_session_run. Data is dense, row-major. */
typedef struct edgeopt_tensor {
  /* Inputs: the model input's name, or NULL to match inputs by position. Ignored on outputs. */
  const char* name;
  edgeopt_dtype dtype;
  size_t rank;
  int64_t shape[EDGEOPT_MAX_RANK];
  void* data;
  size_t nbytes;
} edgeopt_tensor;

/* Defaults: one thread, the platform's default providers. */
EDGEOPT_API void edgeopt_options_init(edgeopt_options* options);

/* Loads an ONNX file (options may be NULL: defaults) and prepares it to run. */
EDGEOPT_API edgeopt_status edgeopt_session_create(const char* model_path,
                                                  const edgeopt_options* options,
                                                  edgeopt_session** session);
/* The same from a serialized model in memory (all tensors inline: no external data). The bytes
 * are not referenced after the call returns. */
EDGEOPT_API edgeopt_status edgeopt_session_create_from_memory(const void* data, size_t size,
                                                              const edgeopt_options* options,
                                                              edgeopt_session** session);
/* NULL is allowed. */
EDGEOPT_API void edgeopt_session_destroy(edgeopt_session* session);

EDGEOPT_API size_t edgeopt_session_input_count(const edgeopt_session* session);
EDGEOPT_API size_t edgeopt_session_output_count(const edgeopt_session* session);
EDGEOPT_API edgeopt_status edgeopt_session_input_info(const edgeopt_session* session, size_t index,
                                                      edgeopt_tensor_info* info);
EDGEOPT_API edgeopt_status edgeopt_session_output_info(const edgeopt_session* session, size_t index,
                                                       edgeopt_tensor_info* info);

/* Memory the session holds: its weights (after the providers' rewrites, which may add packed
 * forms) and the activation arena of its latest plan
 * (0 before the first run; a run with other input shapes plans again). Either pointer may be
 * NULL. What an app compares with its memory budget, e.g. to fall back to a smaller model. */
EDGEOPT_API edgeopt_status edgeopt_session_memory(const edgeopt_session* session,
                                                  size_t* weight_bytes, size_t* arena_bytes);

/* Runs the model.
 * inputs: every model input once, by name or (name NULL) by position; dtype, rank, shape, data
 *   and nbytes set; nbytes must equal the shape's element count times the element size. The
 *   data is read, never written.
 * outputs: n_outputs <= edgeopt_session_output_count(), the first n_outputs outputs in order.
 *   Each gets dtype, rank and shape filled in. With data set by the caller (nbytes = its size),
 *   the output is copied there (EDGEOPT_ERR_BUFFER_TOO_SMALL, with nbytes set to the size
 *   needed, when it does not fit); with data NULL the library allocates it and the caller
 *   releases it with edgeopt_free(). On failure no output buffer is left allocated. */
EDGEOPT_API edgeopt_status edgeopt_session_run(edgeopt_session* session,
                                               const edgeopt_tensor* inputs, size_t n_inputs,
                                               edgeopt_tensor* outputs, size_t n_outputs);

/* Releases an output buffer the library allocated. NULL is allowed. */
EDGEOPT_API void edgeopt_free(void* data);

/* The message of the calling thread's latest failure ("" when none). Valid until the thread's
 * next failing call. */
EDGEOPT_API const char* edgeopt_last_error(void);
/* "EDGEOPT_OK", "EDGEOPT_ERR_INVALID_INPUT", ... */
EDGEOPT_API const char* edgeopt_status_name(edgeopt_status status);
/* Bytes per element of a dtype (0 for EDGEOPT_UNDEFINED). */
EDGEOPT_API size_t edgeopt_dtype_size(edgeopt_dtype dtype);
/* The runtime's version, "0.1.0". */
EDGEOPT_API const char* edgeopt_version(void);

#ifdef __cplusplus
}
#endif

#endif /* EDGEOPT_C_API_H_ */
