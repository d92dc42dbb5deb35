/* fuzz_gtpc_v1.c - libFuzzer target: GTPv1-C decoder (TS 29.060) plus the session table. */
#define FUZZ_GTPC_VERSION 1
#include "fuzz_gtpc.h"
