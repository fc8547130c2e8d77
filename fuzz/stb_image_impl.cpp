// stb_image's implementation (Debian's libstb-dev header), compiled into the fuzz targets so
// that image decoding is instrumented and sanitized like edgeopt's own code (the main build
// links Debian's prebuilt libstb instead).
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
