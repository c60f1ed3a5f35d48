/* sysobj: see sysobj.h */
