#ifndef SETTLE_CSODIUM_SHIM_H
#define SETTLE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
