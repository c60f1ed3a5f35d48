/* receipt: see receipt.h */
