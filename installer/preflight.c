/* preflight: see preflight.h */
