/* install: see install.h */
