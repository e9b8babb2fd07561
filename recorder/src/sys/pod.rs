//! Plain-data structs (the eBPF side's records) read from bytes and viewed
//! as bytes. [`aya::Pod`] is the promise that any bytes make a valid value.

/// The `T` that `bytes` hold, read unaligned; `None` unless `bytes` is
/// exactly its size.
pub fn read<T: aya::Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != size_of::<T>() {
        return None;
    }
    // SAFETY: the length is checked; a Pod type is plain data, valid for any
    // bytes; read_unaligned needs no alignment.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of `value`, as the kernel side would write them.
#[cfg(test)]
pub fn bytes_of<T: aya::Pod>(value: &T) -> &[u8] {
    // SAFETY: a Pod value is plain data: its `size_of::<T>()` bytes are
    // readable for as long as it is borrowed.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}
