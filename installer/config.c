/* config: see config.h */
