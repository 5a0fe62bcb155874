# Sourced at the start of every command on the lent GPU machine: the machine has torch, typer, rich,
# pyyaml and matplotlib but not archclass's other dependencies, which travel as wheels in .whl/.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda devices", torch.cuda.device_count(), torch.cuda.get_device_name(0)); sys.exit(0 if torch.cuda.is_available() else 1)' || exit 1
